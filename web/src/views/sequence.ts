import { s } from '../dom.js';
import type { TimelineEvent } from '../types.js';

/** The modules an order's saga crosses, left to right. */
export const LANES = ['orders', 'inventory', 'payments', 'shipments'];
const ROW = 34;
const TOP = 44;
const GUTTER = 96;
const WIDTH = 760;

/**
 * The saga as a sequence diagram: a lifeline per module, each event a dot on the lane of the
 * module that emitted it with an arrow to each module that consumed it (coloured by the
 * consumer's outcome), and a causation arrow down the lane from the event a module handled
 * to the event it emitted in response. The list beside it carries the same facts as text.
 */
export function sequenceDiagram(events: readonly TimelineEvent[]): SVGSVGElement {
  const extra = [...new Set(events.map((e) => e.source))].filter((source) => !LANES.includes(source));
  const lanes = [...LANES, ...extra];
  // Room on the right for the last lane's labels.
  const step = (WIDTH - GUTTER - 150) / Math.max(1, lanes.length - 1);
  const x = (lane: string) => GUTTER + 20 + lanes.indexOf(lane) * step;
  const height = TOP + events.length * ROW + 16;
  const rowOf = new Map(events.map((e, i) => [e.eventId, i]));
  const y = (i: number) => TOP + i * ROW + ROW / 2;

  const svg = s(
    'svg',
    {
      class: 'sequence',
      viewBox: `0 0 ${WIDTH} ${height}`,
      role: 'img',
      'aria-label': `Sequence diagram: ${events.length} events across ${lanes.join(', ')}; the list below describes each one`,
    },
    s(
      'defs',
      null,
      (['handled', 'retrying', 'dead-lettered', 'discarded', 'parked', 'pending', 'cause'] as const).map((kind) =>
        s('marker', { id: `arrow-${kind}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' }, s('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: `arrowhead outcome-${kind}` })),
      ),
    ),
    lanes.map((lane) => [
      s('text', { x: x(lane), y: 18, class: 'lane-label', 'text-anchor': 'middle' }, lane),
      s('line', { x1: x(lane), y1: 26, x2: x(lane), y2: height - 6, class: 'lifeline' }),
    ]),
  );

  events.forEach((event, i) => {
    const from = x(event.source);
    const group = s('g', { class: 'seq-event', 'data-event-type': event.eventType });
    group.appendChild(s('title', null, `#${event.sequence} ${event.eventType} from ${event.source} at ${event.occurredAt}`));
    group.appendChild(s('text', { x: 8, y: y(i) + 4, class: 'seq-time' }, clock(event.occurredAt)));
    const cause = event.causationId === null ? undefined : rowOf.get(event.causationId);
    if (cause !== undefined) {
      group.appendChild(s('line', { x1: from - 3, y1: y(cause) + 4, x2: from - 3, y2: y(i) - 7, class: 'cause', 'marker-end': 'url(#arrow-cause)' }));
    }
    for (const consumer of event.consumers) {
      if (!lanes.includes(consumer.consumer) || consumer.consumer === event.source) continue;
      const to = x(consumer.consumer);
      const toward = to > from ? -6 : 6;
      group.appendChild(
        s('line', { x1: from, y1: y(i), x2: to + toward, y2: y(i), class: `message outcome-${consumer.outcome}`, 'marker-end': `url(#arrow-${consumer.outcome})` }),
      );
    }
    group.appendChild(s('circle', { cx: from, cy: y(i), r: 5, class: 'seq-dot' }));
    group.appendChild(s('text', { x: from + 9, y: y(i) - 7, class: 'seq-label' }, event.eventType));
    svg.appendChild(group);
  });
  return svg;
}

function clock(iso: string): string {
  const date = new Date(iso);
  return `${date.toTimeString().slice(0, 8)}.${String(date.getMilliseconds()).padStart(3, '0')}`;
}
