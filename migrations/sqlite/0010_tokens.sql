-- API tokens can expire (POST /api/v1/tokens {"expires_in_days": N}); NULL never does. A token
-- past its expiry is refused like a revoked one.
ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;
