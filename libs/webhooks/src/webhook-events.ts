/** The events a subscription may ask for (the contract's "Integrations" section). */
export const WEBHOOK_EVENT_TYPES = ['cleanup_task.tree.completed', 'cleanup_task.tree.failed', 'cleanup_task.failed'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Sent by POST /api/webhooks/{id}/ping to that subscription only; not subscribable. */
export const PING_EVENT_TYPE = 'webhook.ping';

/** `wh_` + a ULID. */
export const WEBHOOK_ID_PATTERN = /^wh_[0-9A-HJKMNP-TV-Z]{26}$/;
