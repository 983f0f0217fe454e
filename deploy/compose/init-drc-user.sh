# Sourced by the mysql image's entrypoint on first start (docker-entrypoint-initdb.d): DRC's
# least-privilege user (no SUPER: binlog replication, DML, its own drc_meta schema), with the password
# of the Docker secret mounted at /run/secrets/drc-password (this server's ezone's).
drc_password="$(tr -d '\r\n' < /run/secrets/drc-password)"
drc_password="${drc_password//\\/\\\\}"
drc_password="${drc_password//\'/\\\'}"
docker_process_sql <<SQL
CREATE USER IF NOT EXISTS 'drc'@'%' IDENTIFIED BY '${drc_password}';
GRANT SELECT, INSERT, UPDATE, DELETE, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'drc'@'%';
GRANT ALL PRIVILEGES ON drc_meta.* TO 'drc'@'%';
SQL
unset drc_password
