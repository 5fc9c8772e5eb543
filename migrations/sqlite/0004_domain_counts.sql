-- How many records of each kind have an address at (or, for parents, below) each domain.
-- A domain rule is usually an organization's largest; its count comes from here in one
-- lookup instead of a range scan of record_domains (96,000 entries for a large customer).
-- Triggers keep it exact; a bulk load recomputes it (see store/sql/bulk.rs).

CREATE TABLE domain_counts (
    kind   INTEGER NOT NULL,
    domain TEXT    NOT NULL,
    total  INTEGER NOT NULL,
    -- records with an address at this very domain
    exact  INTEGER NOT NULL,
    PRIMARY KEY (kind, domain)
) WITHOUT ROWID;

INSERT INTO domain_counts (kind, domain, total, exact)
SELECT kind, domain, COUNT(*), SUM(exact) FROM record_domains GROUP BY kind, domain;

CREATE TRIGGER record_domains_count_insert AFTER INSERT ON record_domains BEGIN
    INSERT INTO domain_counts (kind, domain, total, exact) VALUES (new.kind, new.domain, 1, new.exact)
    ON CONFLICT (kind, domain) DO UPDATE SET total = total + 1, exact = exact + excluded.exact;
END;

CREATE TRIGGER record_domains_count_delete AFTER DELETE ON record_domains BEGIN
    UPDATE domain_counts SET total = total - 1, exact = exact - old.exact
    WHERE kind = old.kind AND domain = old.domain;
END;
