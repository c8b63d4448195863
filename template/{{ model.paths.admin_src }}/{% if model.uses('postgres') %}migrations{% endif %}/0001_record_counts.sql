-- How many records each domain's table held, one row per domain and snapshot (admin job `snapshot`).
-- An applied migration is history: change the schema in a new file (0002_...), never by editing this one.
CREATE TABLE record_counts (
    domain text NOT NULL,
    counted_at timestamptz NOT NULL,
    records integer NOT NULL CHECK (records >= 0),
    PRIMARY KEY (domain, counted_at)
);
