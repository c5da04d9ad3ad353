"""Webhooks (issue 21): confirmed alerts and health events POSTed to configured URLs, signed per the Standard
Webhooks specification, retried with a backoff, every outcome audited."""
