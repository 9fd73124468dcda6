import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

// Typed keys for the attributes registered by src/temporal/search-attributes.ts (names must match).
export const EVENTFLOW_STATUS = defineSearchAttributeKey('EventFlowStatus', SearchAttributeType.KEYWORD);
export const PROJECT_ID = defineSearchAttributeKey('ProjectId', SearchAttributeType.KEYWORD);
export const ENDPOINT_ID = defineSearchAttributeKey('EndpointId', SearchAttributeType.KEYWORD);
export const EVENT_TYPE = defineSearchAttributeKey('EventType', SearchAttributeType.KEYWORD);
export const BATCH_ID = defineSearchAttributeKey('BatchId', SearchAttributeType.KEYWORD);
export const BATCH_IDS = defineSearchAttributeKey('BatchIds', SearchAttributeType.KEYWORD_LIST);
