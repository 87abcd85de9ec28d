"""A Cassandra user's DDL (as written by hand, with options Keyspaces ignores) and its normalised form."""

CASSANDRA_DDL = """
-- features as they live in our Cassandra 3.11 cluster
CREATE KEYSPACE IF NOT EXISTS Features
  WITH replication = {'class': 'NetworkTopologyStrategy', 'dc1': 3} AND durable_writes = true;
USE Features;

/* a postal address */
CREATE TYPE IF NOT EXISTS Address (street TEXT, city text, "zip" int);

CREATE TABLE IF NOT EXISTS Customer_Features (
    customer_id TEXT,
    region text,
    feature_set text,
    computed_at TIMESTAMP,
    scores MAP<text,double>,
    labels set<text>,
    home frozen<Address>,
    history list<frozen<map<text, int>>>,
    "window" tuple<timestamp, timestamp>,
    model_version int,
    PRIMARY KEY ((customer_id, region), feature_set, computed_at)
) WITH CLUSTERING ORDER BY (computed_at DESC)
    AND default_time_to_live = 604800
    AND compaction = {'class': 'org.apache.cassandra.db.compaction.LeveledCompactionStrategy'}
    AND gc_grace_seconds = 864000
    AND custom_properties = {'client_side_timestamps': {'status': 'enabled'},
                             'cdc_specification': {'view_type': 'NEW_IMAGE'}}
    AND CDC = TRUE;
"""

NORMALISED_DDL = """CREATE TYPE features.address (
    street text,
    city text,
    zip int
);

CREATE TABLE features.customer_features (
    customer_id text,
    region text,
    feature_set text,
    computed_at timestamp,
    scores map<text, double>,
    labels set<text>,
    home frozen<address>,
    history list<frozen<map<text, int>>>,
    window tuple<timestamp, timestamp>,
    model_version int,
    PRIMARY KEY ((customer_id, region), feature_set, computed_at)
) WITH CLUSTERING ORDER BY (feature_set ASC, computed_at DESC)
    AND default_time_to_live = 604800
    AND custom_properties = {'client_side_timestamps': {'status': 'enabled'}, 'cdc_specification': {'view_type': 'NEW_IMAGE'}}
    AND cdc = true;
"""
