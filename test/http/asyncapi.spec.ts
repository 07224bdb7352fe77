import { DiagnosticSeverity, Parser } from '@asyncapi/parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageKey } from '../../src/http/asyncapi.js';
import { catalogContracts } from '../../src/kernel/contracts.js';
import { eventCatalog } from '../../src/kernel/catalog.js';
import { createHttpHarness, type HttpHarness } from './support.js';

describe('GET /asyncapi.json: the event catalog as an AsyncAPI 3 document', () => {
  let h: HttpHarness;
  // The document as JSON: the test walks it freely.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let document: Record<string, any>;
  beforeAll(async () => {
    h = await createHttpHarness('sqlite');
    const response = await h.call('GET', '/asyncapi.json');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/application\/json/);
    document = response.json();
  });
  afterAll(async () => h?.close());

  /** The parser's error diagnostics of a document. */
  async function errorsOf(doc: unknown) {
    const { document: parsed, diagnostics } = await new Parser().parse(JSON.stringify(doc));
    return { parsed, errors: diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).map((d) => `${d.path.join('.')}: ${d.message}`) };
  }

  it('is valid by @asyncapi/parser (no error diagnostics)', async () => {
    const { parsed, errors } = await errorsOf(document);
    expect(errors).toEqual([]);
    expect(parsed?.version()).toBe('3.0.0');
    expect(parsed?.channels().length).toBe(Object.keys(eventCatalog).length);
    // The same check finds a broken reference: it is not a parser that accepts anything.
    const broken = structuredClone(document);
    broken.operations.publishOrderPlaced.channel = { $ref: '#/channels/NoSuchChannel' };
    expect((await errorsOf(broken)).errors.length).toBeGreaterThan(0);
  });

  it('has every catalog event with its payload schema and version, and nothing the catalog lacks (both directions)', () => {
    const contracts = catalogContracts();
    const inCatalog = Object.entries(contracts).flatMap(([type, versions]) => Object.keys(versions).map((v) => messageKey(type, v))).sort();
    const inDocument = Object.keys(document.components.messages).sort();
    expect(inDocument).toEqual(inCatalog);
    for (const [type, versions] of Object.entries(contracts)) {
      expect(document.channels[type].address).toBe(`orderflow_events.events.{partition}.${type}`);
      for (const [version, schema] of Object.entries(versions)) {
        const key = messageKey(type, version);
        const message = document.components.messages[key];
        expect(message.name).toBe(type);
        const [envelope, specific] = message.payload.allOf;
        expect(envelope).toEqual({ $ref: '#/components/schemas/Envelope' });
        expect(specific.properties.eventType).toEqual({ const: type });
        expect(specific.properties.version).toEqual({ const: Number(version) });
        expect(document.components.schemas[`${key}.payload`]).toEqual(schema);
        expect(document.channels[type].messages[key]).toEqual({ $ref: `#/components/messages/${key}` });
      }
      expect(document.operations[`publish${type}`].action).toBe('send');
    }
    // The envelope is the one events are validated with: every field of SPEC §3.
    expect(Object.keys(document.components.schemas.Envelope.properties)).toEqual(
      expect.arrayContaining(['eventId', 'eventType', 'version', 'aggregateType', 'aggregateId', 'occurredAt', 'payload', 'correlationId', 'causationId', 'source', 'sequence']),
    );
  });

  it('is linked from the API documentation at /docs (the OpenAPI description)', async () => {
    const openapi = (await h.call('GET', '/openapi.json')).json();
    expect(openapi.info.description).toContain('[/asyncapi.json](/asyncapi.json)');
  });
});
