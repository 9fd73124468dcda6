import type { Client } from '@temporalio/client';
import type { Knex } from 'knex';
import type { EventFlowConfig } from '../src/config.ts';
import { createValidateActivity } from './validate.ts';
import { enrichBatch } from './enrich.ts';
import { createPersistActivity } from './persist.ts';
import { createDeliveryActivities } from './deliveries.ts';
import { createRunActivities } from './runs.ts';

export interface ActivityDependencies {
  db: Knex;
  config: EventFlowConfig;
  /** For starting per-delivery workflows from the dispatch activity. */
  temporal: Client;
}

/**
 * All activities, built over injected dependencies so tests can hand in real or fake parts.
 * Workflows import this module as a type only (`typeof` the factory's result).
 */
export function createActivities({ db, config, temporal }: ActivityDependencies) {
  const validateBatch = createValidateActivity(db);
  return {
    validateBatch,
    enrichBatch,
    persistBatch: createPersistActivity(db),
    ...createRunActivities(db, validateBatch),
    ...createDeliveryActivities({ db, config, temporal }),
  };
}

export type Activities = ReturnType<typeof createActivities>;
