-- Victim database schema for Chaos-Handler's victim-api. Idempotent: provision.sh runs it on every
-- provisioning, connected to database "victim" as the table owner "victim".
CREATE TABLE IF NOT EXISTS items (
    id         serial PRIMARY KEY,
    name       text NOT NULL,
    price      numeric(10, 2) NOT NULL CHECK (price >= 0),
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO items (name, price)
SELECT 'item-' || lpad(g::text, 3, '0'), round((g * 3.7)::numeric % 100 + 1, 2)
FROM generate_series(1, 50) AS g
WHERE NOT EXISTS (SELECT 1 FROM items);
