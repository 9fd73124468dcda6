import type { Knex } from 'knex';
import type { AttemptReport } from '../shared/delivery.ts';
import { disableEndpoint, markEndpointFailing, markEndpointHealthy } from './endpoints.ts';
import type { DeliveryTarget } from './targets.ts';

// What one attempt's outcome says about its webhook endpoint: a success ends its failing window; a 410
// Gone disables it at once; failing continuously for longer than the window disables it too. Email
// rules have no health of their own (an SMTP outage is not the rule's fault).

export async function recordTargetSuccess(db: Knex, target: DeliveryTarget): Promise<void> {
  if (target.channel === 'webhook' && target.failingSince) await markEndpointHealthy(db, target.id);
}

/** Returns true when the target is now disabled, so further attempts are pointless. */
export async function recordTargetFailure(db: Knex, target: DeliveryTarget, report: AttemptReport, disableAfterSeconds: number): Promise<boolean> {
  if (target.channel !== 'webhook') return false;
  if (report.outcome === 'gone') {
    await disableEndpoint(db, target.id, 'the endpoint answered 410 Gone');
    return true;
  }
  const failingSince = target.failingSince ?? (await markEndpointFailing(db, target.id, new Date()));
  if (Date.now() - failingSince.getTime() >= disableAfterSeconds * 1000) {
    await disableEndpoint(db, target.id, `failing continuously since ${failingSince.toISOString()}`);
    return true;
  }
  return false;
}
