-- How many records of each kind have an address at (or, for parents, below) each domain.
-- A domain rule is usually an organization's largest; its count comes from here in one
-- lookup instead of a range scan of record_domains. Triggers keep it exact; a bulk load
-- recomputes it (see store/sql/bulk.rs).

CREATE TABLE domain_counts (
    kind   BIGINT NOT NULL,
    domain TEXT   NOT NULL,
    total  BIGINT NOT NULL,
    -- records with an address at this very domain
    exact  BIGINT NOT NULL,
    PRIMARY KEY (kind, domain)
);

INSERT INTO domain_counts (kind, domain, total, exact)
SELECT kind, domain, COUNT(*), SUM(CASE WHEN exact THEN 1 ELSE 0 END) FROM record_domains GROUP BY kind, domain;

CREATE FUNCTION record_domains_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO domain_counts (kind, domain, total, exact)
        VALUES (NEW.kind, NEW.domain, 1, CASE WHEN NEW.exact THEN 1 ELSE 0 END)
        ON CONFLICT (kind, domain) DO UPDATE
        SET total = domain_counts.total + 1, exact = domain_counts.exact + EXCLUDED.exact;
        RETURN NEW;
    ELSE
        UPDATE domain_counts SET total = total - 1, exact = exact - CASE WHEN OLD.exact THEN 1 ELSE 0 END
        WHERE kind = OLD.kind AND domain = OLD.domain;
        RETURN OLD;
    END IF;
END
$$;

CREATE TRIGGER record_domains_count AFTER INSERT OR DELETE ON record_domains
FOR EACH ROW EXECUTE FUNCTION record_domains_count();
