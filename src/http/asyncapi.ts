import { EnvelopeSchema } from '../kernel/envelope.js';
import { catalogContracts, type EventContracts, type JsonSchema } from '../kernel/contracts.js';

export interface AsyncApiOptions {
  /** orderflow's release (package.json). */
  version: string;
  /** The JetStream stream the relay publishes to (`NATS_STREAM`). */
  stream: string;
  /** Its subject prefix (`NATS_STREAM` in lower case). */
  subjectPrefix: string;
  /** The NATS server (`NATS_URL`), when this deployment publishes. */
  natsUrl?: string | undefined;
  /** The schemas described (default: the catalog's, the same that validate every event). */
  contracts?: EventContracts;
}

/** The component key of an event version's message: `OrderPlaced.v1`. */
export const messageKey = (eventType: string, version: string | number) => `${eventType}.v${version}`;

/**
 * The AsyncAPI 3 document of the event catalog, made from the schemas that validate events:
 * a channel per event type (the JetStream subjects the relay publishes to), a message per
 * schema version — the envelope, with that event type, version and payload schema — and one
 * `send` operation per channel (orderflow publishes; other systems subscribe).
 */
export function asyncApiDocument(options: AsyncApiOptions): Record<string, unknown> {
  const contracts = options.contracts ?? catalogContracts();
  const envelope = JSON.parse(JSON.stringify(EnvelopeSchema)) as JsonSchema;
  const channels: Record<string, unknown> = {};
  const operations: Record<string, unknown> = {};
  const messages: Record<string, unknown> = {};
  const schemas: Record<string, unknown> = { Envelope: envelope };

  for (const [eventType, versions] of Object.entries(contracts)) {
    const channelMessages: Record<string, unknown> = {};
    for (const [version, payload] of Object.entries(versions)) {
      const key = messageKey(eventType, version);
      schemas[`${key}.payload`] = payload;
      messages[key] = {
        name: eventType,
        title: `${eventType} version ${version}`,
        summary: `The ${eventType} event, payload schema version ${version}, in the orderflow envelope.`,
        contentType: 'application/json',
        headers: {
          type: 'object',
          properties: {
            'Nats-Msg-Id': { type: 'string', description: 'the eventId: JetStream drops a copy published again within its duplicate window' },
            'Orderflow-Sequence': { type: 'string', description: "the event's position in orderflow's log (an integer)" },
          },
        },
        payload: {
          allOf: [
            { $ref: '#/components/schemas/Envelope' },
            {
              type: 'object',
              properties: {
                eventType: { const: eventType },
                version: { const: Number(version) },
                payload: { $ref: `#/components/schemas/${key}.payload` },
              },
            },
          ],
        },
      };
      channelMessages[key] = { $ref: `#/components/messages/${key}` };
    }
    channels[eventType] = {
      address: `${options.subjectPrefix}.events.{partition}.${eventType}`,
      title: eventType,
      description: `Every ${eventType} event appended to the log, in log order per aggregate.`,
      parameters: { partition: { description: "the aggregate's partition: FNV-1a of aggregateId modulo NATS_PARTITIONS; one aggregate's events share one" } },
      messages: channelMessages,
    };
    operations[`publish${eventType}`] = {
      action: 'send',
      channel: { $ref: `#/channels/${eventType}` },
      summary: `orderflow's relay publishes each committed ${eventType} once the transaction that appended it committed.`,
      messages: Object.keys(channelMessages).map((key) => ({ $ref: `#/channels/${eventType}/messages/${key}` })),
    };
  }

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'orderflow events',
      version: options.version,
      description:
        `The domain events of orderflow, published to the JetStream stream ${options.stream} when the deployment runs with NATS_URL. ` +
        'Each message is one event in the envelope of SPEC §3 (JSON); message id = eventId. Payload schemas are versioned: an event keeps the version it was written with.',
    },
    ...(options.natsUrl ? { servers: { nats: natsServer(options.natsUrl, options.stream) } } : {}),
    defaultContentType: 'application/json',
    channels,
    operations,
    components: { schemas, messages },
  };
}

function natsServer(natsUrl: string, stream: string): Record<string, unknown> {
  const first = natsUrl.split(',')[0]!.trim();
  const url = new URL(first.includes('://') ? first : `nats://${first}`);
  return { host: url.port ? `${url.hostname}:${url.port}` : url.hostname, protocol: 'nats', description: `JetStream stream ${stream}` };
}
