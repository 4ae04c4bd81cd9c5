-- 015: tokens say how their secret is hashed. New tokens are SHA-256 of a 256-bit random
-- secret (verification costs the same whether right or wrong); rows from before are scrypt
-- and move to SHA-256 on their first successful verification.
-- (DuckDB cannot add a column with a NOT NULL constraint; the default fills old rows.)
ALTER TABLE tokens ADD COLUMN scheme VARCHAR DEFAULT 'scrypt';
