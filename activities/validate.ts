import type { Knex } from 'knex';
import type { ValidateFunction } from 'ajv';
import type { IngestEvent, ValidationResult } from '../src/shared/batch.ts';
import { compileUserSchema, createSchemaCompiler, fieldErrors } from '../src/schemas/json-schema.ts';
import { recordEventsRejected } from '../src/telemetry/metrics.ts';

export interface ValidateInput {
  projectId: string;
  events: Pick<IngestEvent, 'id' | 'type' | 'properties'>[];
}

/**
 * Validates each event's `properties` against the newest JSON Schema registered for its type.
 * Types without a schema pass. Compiled validators are cached by (project, type, version): a new
 * version is a new key, so the cache never serves a stale schema and needs no invalidation.
 */
export function createValidateActivity(db: Knex) {
  const ajv = createSchemaCompiler();
  const compiled = new Map<string, ValidateFunction>();

  async function latestSchemas(projectId: string, types: string[]) {
    return db('event_schemas')
      .distinctOn('event_type')
      .select('event_type', 'version', 'schema')
      .where('project_id', projectId)
      .whereIn('event_type', types)
      .orderBy([{ column: 'event_type' }, { column: 'version', order: 'desc' }]) as Promise<
      Array<{ event_type: string; version: number; schema: object }>
    >;
  }

  return async function validateBatch(input: ValidateInput): Promise<ValidationResult> {
    const types = [...new Set(input.events.map((event) => event.type))];
    const validators = new Map<string, ValidateFunction>();
    for (const row of await latestSchemas(input.projectId, types)) {
      const key = `${input.projectId}:${row.event_type}:${row.version}`;
      let validate = compiled.get(key);
      if (!validate) {
        const check = compileUserSchema(ajv, row.schema);
        // Schemas are compiled when stored, so this only fails if ajv itself changed; treat as no schema.
        if (!check.ok) continue;
        validate = check.validate;
        compiled.set(key, validate);
      }
      validators.set(row.event_type, validate);
    }
    const rejected: ValidationResult['rejected'] = [];
    input.events.forEach((event, index) => {
      const validate = validators.get(event.type);
      if (!validate || validate(event.properties ?? {})) return;
      rejected.push({ index, id: event.id, type: event.type, reasons: fieldErrors(validate.errors, { prefix: 'properties' }) });
    });
    recordEventsRejected('schema_validation', rejected.length);
    return { rejected };
  };
}
