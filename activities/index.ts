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
  const deliveries = createDeliveryActivities({ db, config, temporal });
  return {
    activities: {
      validateBatch,
      enrichBatch,
      persistBatch: createPersistActivity(db),
      ...createRunActivities(db, validateBatch),
      ...deliveries.activities,
    },
    /** Releases what the activities hold open (the SMTP pool); call once the worker has stopped. */
    close: deliveries.close,
  };
}

export type Activities = ReturnType<typeof createActivities>['activities'];
