import { defineSearchAttributeKey } from '@temporalio/common';
import { SEARCH_ATTRIBUTES, type SearchAttributeName } from '../temporal/namespace.ts';

// Typed keys for the attributes declared in temporal/namespace.ts: a name or type missing there fails
// the type check here.
const key = <N extends SearchAttributeName>(name: N) => defineSearchAttributeKey(name, SEARCH_ATTRIBUTES[name]);

export const EVENTFLOW_STATUS = key('EventFlowStatus');
export const PROJECT_ID = key('ProjectId');
export const ENDPOINT_ID = key('EndpointId');
export const EVENT_TYPE = key('EventType');
export const BATCH_ID = key('BatchId');
export const BATCH_IDS = key('BatchIds');
