# shellcheck shell=bash
# Sourced by scripts/kafka.sh: the single node's optional SASL and TLS listeners, added to its config
# when it is rendered and (SCRAM users) when its storage is formatted. The cluster has neither.
#
# SASL (to test the app's KAFKA_SASL_* settings against a real broker): KAFKA_SASL_PORT (empty: off)
# adds a SASL_PLAINTEXT listener on 127.0.0.1 taking PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for the
# users of KAFKA_SASL_USERS ("payments:payments-secret", comma-separated user:password). SCRAM users
# are written when the storage is formatted, so use them with a fresh KAFKA_DATA_DIR.
# TLS likewise: KAFKA_SSL_PORT (empty: off) adds an SSL listener whose key and certificate chain come
# from KAFKA_SSL_KEYSTORE_PEM (one PEM file: unencrypted PKCS#8 private key, then the certificates).

SASL_PORT="${KAFKA_SASL_PORT:-}"
SASL_USERS="${KAFKA_SASL_USERS:-payments:payments-secret}"
SSL_PORT="${KAFKA_SSL_PORT:-}"
SSL_KEYSTORE_PEM="${KAFKA_SSL_KEYSTORE_PEM:-}"

# A TLS listener next to PLAINTEXT: the broker's key and chain from one PEM file (Kafka's PEM keystore).
add_ssl_listener() {
  [[ "$SSL_PORT" =~ ^[0-9]+$ && "$SSL_PORT" != "$KAFKA_PORT" && "$SSL_PORT" != "$KAFKA_CONTROLLER_PORT" && "$SSL_PORT" != "$SASL_PORT" ]] \
    || die "KAFKA_SSL_PORT must be a port number of its own"
  [[ -r "$SSL_KEYSTORE_PEM" ]] || die "KAFKA_SSL_PORT needs KAFKA_SSL_KEYSTORE_PEM: a readable PEM file with the key and certificate chain"
  sed -i -e "s|^listeners=.*|&,SSL://127.0.0.1:$SSL_PORT|" \
         -e "s|^advertised.listeners=.*|&,SSL://127.0.0.1:$SSL_PORT|" \
         -e "s|^listener.security.protocol.map=.*|&,SSL:SSL|" "$CONFIG"
  cat >>"$CONFIG" <<SSL

# KAFKA_SSL_PORT: a TLS listener for the app's KAFKA_SSL_* settings (kafka.sh renders this part).
listener.name.ssl.ssl.keystore.type=PEM
listener.name.ssl.ssl.keystore.location=$SSL_KEYSTORE_PEM
listener.name.ssl.ssl.client.auth=none
SSL
}

# A third listener, SASL_PLAINTEXT, next to PLAINTEXT (which the probe and the other tools keep using).
add_sasl_listener() {
  [[ "$SASL_PORT" =~ ^[0-9]+$ && "$SASL_PORT" != "$KAFKA_PORT" && "$SASL_PORT" != "$KAFKA_CONTROLLER_PORT" ]] \
    || die "KAFKA_SASL_PORT must be a port number other than KAFKA_PORT and KAFKA_CONTROLLER_PORT"
  local plain_users="" pair
  for pair in ${SASL_USERS//,/ }; do
    [[ "$pair" =~ ^[A-Za-z0-9._-]+:[^\"[:space:]]+$ ]] || die "KAFKA_SASL_USERS: '$pair' is not user:password"
    plain_users+=" user_${pair%%:*}=\"${pair#*:}\""
  done
  sed -i -e "s|^listeners=.*|&,SASL_PLAINTEXT://127.0.0.1:$SASL_PORT|" \
         -e "s|^advertised.listeners=.*|&,SASL_PLAINTEXT://127.0.0.1:$SASL_PORT|" \
         -e "s|^listener.security.protocol.map=.*|&,SASL_PLAINTEXT:SASL_PLAINTEXT|" "$CONFIG"
  cat >>"$CONFIG" <<SASL

# KAFKA_SASL_PORT: a SASL listener for the app's KAFKA_SASL_* settings (kafka.sh renders this part).
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required${plain_users};
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
SASL
}

# --add-scram arguments for StorageTool format: every KAFKA_SASL_USERS user, both SCRAM mechanisms.
scram_args() {
  [[ -n "$SASL_PORT" ]] || return 0
  local pair
  for pair in ${SASL_USERS//,/ }; do
    printf '%s\n' --add-scram "SCRAM-SHA-256=[name=${pair%%:*},password=${pair#*:}]" \
                   --add-scram "SCRAM-SHA-512=[name=${pair%%:*},password=${pair#*:}]"
  done
}
