import type { FastifyInstance } from 'fastify';
import pkg from '../../../package.json' with { type: 'json' };
import { searchParamsFor } from '../../fhir/search-params.ts';
import { SUPPORTED_TYPES } from '../../fhir/types.ts';
import { baseUrlOf, FHIR_JSON } from '../fhir-reply.ts';
import type { RouteDeps } from './route-deps.ts';

/** The type-level interactions the routes in this folder implement, for every supported type. */
export const TYPE_INTERACTIONS = [
  'read',
  'vread',
  'update',
  'delete',
  'history-instance',
  'history-type',
  'create',
  'search-type',
] as const;

/** System-level interactions: POST /fhir (transaction, batch) and GET /fhir/_history. */
export const SYSTEM_INTERACTIONS = ['transaction', 'batch', 'history-system'] as const;

/** The CapabilityStatement, generated from what is implemented; it never claims more. */
export function capabilityStatement(
  baseUrl: string,
  date: string,
  opts: { patientIndex?: boolean } = {},
): Record<string, unknown> {
  const patientOperations = [
    { name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' },
    ...(opts.patientIndex
      ? [
          { name: 'match', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-match' },
          { name: 'ihe-pix', definition: 'https://profiles.ihe.net/ITI/PIXm/OperationDefinition/IHE.PIXm.pix' },
        ]
      : []),
  ];
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date,
    publisher: 'OpenICR',
    kind: 'instance',
    software: { name: 'OpenICR', version: pkg.version },
    implementation: { description: 'OpenICR integrated care record — FHIR R4 API', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        security: {
          cors: false,
          description:
            'Every request except /metadata and /.well-known/smart-configuration needs Authorization: Bearer <token> ' +
            '(an HS256 JWT issued by this server). SMART App Launch is not offered yet.',
        },
        resource: SUPPORTED_TYPES.map((type) => ({
          type,
          interaction: TYPE_INTERACTIONS.map((code) => ({ code })),
          versioning: 'versioned-update',
          readHistory: true,
          updateCreate: true,
          conditionalCreate: true,
          conditionalUpdate: true,
          conditionalDelete: 'not-supported',
          searchParam: searchParamsFor(type).map((p) => ({
            name: p.code,
            definition: p.url,
            type: p.type,
            ...(p.description ? { documentation: p.description } : {}),
          })),
          ...(type === 'Patient'
            ? {
                operation: patientOperations,
              }
            : {}),
        })),
        interaction: SYSTEM_INTERACTIONS.map((code) => ({ code })),
      },
    ],
  };
}

/** GET /fhir/metadata (open: no token needed). */
export function registerMetadataRoute(app: FastifyInstance, { records }: RouteDeps): void {
  const started = new Date().toISOString();
  const cache = new Map<string, string>();
  app.get('/fhir/metadata', { config: { public: true } }, async (req, reply) => {
    const base = baseUrlOf(req);
    let json = cache.get(base);
    if (json === undefined) {
      json = JSON.stringify(capabilityStatement(base, started, { patientIndex: records.hasPatientIndex }));
      if (cache.size < 16) cache.set(base, json);
    }
    return reply.type(FHIR_JSON).send(json);
  });
}
