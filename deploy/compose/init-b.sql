-- DRC's least-privilege user (no SUPER): binlog replication, DML, and its own drc_meta schema.
CREATE USER IF NOT EXISTS 'drc'@'%' IDENTIFIED BY 'drc-b';
GRANT SELECT, INSERT, UPDATE, DELETE, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'drc'@'%';
GRANT ALL PRIVILEGES ON drc_meta.* TO 'drc'@'%';
