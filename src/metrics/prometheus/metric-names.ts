/**
 * Every Prometheus series the service exports, by name. The alert rules and the Grafana dashboard under
 * `docker/` may use only these (and Node's default process metrics); a unit test checks it.
 */
export const METRIC_NAMES = {
  emailsAccepted: 'freeface_emails_accepted_total',
  emailsSent: 'freeface_emails_sent_total',
  emailsFailed: 'freeface_emails_failed_total',
  emailsDeadLettered: 'freeface_emails_dead_lettered_total',
  suppressedRecipients: 'freeface_suppressed_recipients_total',
  providerEvents: 'freeface_provider_events_total',
  callbacksRejected: 'freeface_callbacks_rejected_total',
  webhookDeliveries: 'freeface_webhook_deliveries_total',
  webhookPauses: 'freeface_webhook_pauses_total',
  smtpSessions: 'freeface_smtp_sessions_total',
  smtpMessages: 'freeface_smtp_messages_total',
  authFailures: 'freeface_auth_failures_total',
  sendDuration: 'freeface_send_duration_seconds',
  rateLimitWaits: 'freeface_rate_limit_waits_total',
  httpRequestDuration: 'freeface_http_request_duration_seconds',
  auditWriteFailures: 'freeface_audit_write_failures_total',
  reconcilerRepairs: 'freeface_reconciler_repairs_total',
  reconcilerSweeps: 'freeface_reconciler_sweeps_total',
  queueDepth: 'freeface_queue_depth',
  scheduledEmails: 'freeface_scheduled_emails',
  deadLetters: 'freeface_dead_letters',
  circuitState: 'freeface_provider_circuit_state',
  rateLimitTokens: 'freeface_rate_limit_tokens',
  pausedWebhooks: 'freeface_webhooks_paused',
  clusterFiguresUp: 'freeface_cluster_figures_up',
} as const;
