#!/usr/bin/env bash
# Installs or upgrades SensorKit (the node or the gateway) on a Raspberry Pi with 64-bit Raspberry Pi OS.
#
# Run it from the publish bundle it came in (artifacts/publish/sensorkit-node-linux-arm64/deploy/install.sh):
#
#   sudo ./deploy/install.sh --config node.json
#   sudo ./deploy/install.sh --config node.json --mqtt-username river-3 --mqtt-password-file ./mqtt-password
#   sudo ./deploy/install.sh --config gateway.json --tls-key ./broker.key     # a gateway with the TLS listener
#   sudo ./deploy/install.sh                  # upgrade: keeps /etc/sensorkit and /var/lib/sensorkit-*
#
# Everything is checked before anything changes: the OS must be 64-bit, I2C must be on, the configuration
# must be valid and every configured sensor must answer (sensorkit-node scan). Safe to re-run.
# --root DIR installs below DIR instead of / and only prints the system commands (user, systemctl):
# a dry run that tests use.
set -euo pipefail

SERVICE_USER=sensorkit
I2C_GROUP=i2c

usage() {
    cat <<'EOF'
usage: install.sh [--config FILE] [--mqtt-username NAME --mqtt-password-file FILE] [--tls-key FILE] [--no-scan] [--no-start] [--root DIR]

  --config FILE              the site configuration (appsettings format, see deploy/examples/); required on
                             the first install, replaces the installed one on an upgrade (a backup is kept)
  --mqtt-username NAME       MQTT account of this node (Mqtt:Username), or of a gateway on an external broker (Broker:Username)
  --mqtt-password-file FILE  a file holding only the password; copied to /etc/sensorkit/credentials (root, 0600)
                             and handed to the service through systemd LoadCredential. Never pass a password
                             on the command line: other users can read it from the process list.
  --tls-key FILE             gateway: the private key of the broker's TLS certificate (Broker:Tls:KeyFile); kept
                             root-only like the password and handed to the service the same way
  --no-scan                  do not check the sensors (e.g. a node in simulation, or a bench without sensors)
  --no-start                 install and enable, but do not start the service now
  --root DIR                 dry run: install below DIR; user and systemctl commands are only printed
EOF
}

die() {
    echo "install.sh: $*" >&2
    exit 1
}

say() {
    echo "==> $*"
}

ARGS=("$@")
ROOT=""
CONFIG=""
MQTT_USERNAME=""
MQTT_PASSWORD_FILE=""
TLS_KEY=""
SCAN=1
START=1
while [ $# -gt 0 ]; do
    case "$1" in
        --config) CONFIG=${2:?--config needs a file}; shift 2 ;;
        --mqtt-username) MQTT_USERNAME=${2:?--mqtt-username needs a name}; shift 2 ;;
        --mqtt-password-file) MQTT_PASSWORD_FILE=${2:?--mqtt-password-file needs a file}; shift 2 ;;
        --tls-key) TLS_KEY=${2:?--tls-key needs a file}; shift 2 ;;
        --no-scan) SCAN=0; shift ;;
        --no-start) START=0; shift ;;
        --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument '$1'" ;;
    esac
done
if [ -n "$ROOT" ]; then
    ROOT=$(cd "$ROOT" && pwd) || die "--root $ROOT does not exist"
fi

# System commands run for real only on a real install; a dry run prints them.
system() {
    if [ -n "$ROOT" ]; then
        echo "dry run: $*"
    else
        "$@"
    fi
}

# ---------------------------------------------------------------- what is being installed
BUNDLE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -x "$BUNDLE/sensorkit-node" ]; then
    COMPONENT=node
elif [ -x "$BUNDLE/sensorkit-gateway" ]; then
    COMPONENT=gateway
else
    die "no sensorkit-node or sensorkit-gateway executable in $BUNDLE: run this script from the publish bundle (dotnet publish ... -p:PublishProfile=linux-arm64)"
fi
EXE=sensorkit-$COMPONENT
UNIT=sensorkit-$COMPONENT.service
# A Native AOT build (the node's profiles) is the executable alone; a JIT build runs $EXE.dll, and its executable is only
# the launcher, the same in every release, so the release is named after the assembly then.
if [ -f "$BUNDLE/$EXE.dll" ]; then
    PROGRAM=$BUNDLE/$EXE.dll
elif [ -z "$(find "$BUNDLE" -maxdepth 1 -name '*.dll' -print -quit)" ]; then
    PROGRAM=$BUNDLE/$EXE
else
    die "$BUNDLE/$EXE.dll is missing: the bundle is incomplete, publish it again"
fi
[ -f "$BUNDLE/deploy/$UNIT" ] || die "$BUNDLE/deploy/$UNIT is missing: the bundle is incomplete, publish it again"

OPT=$ROOT/opt/sensorkit/$COMPONENT
ETC=$ROOT/etc/sensorkit
CONFIG_TARGET=/etc/sensorkit/$COMPONENT.json   # as the service sees it
INSTALLED_CONFIG=$ROOT$CONFIG_TARGET
CREDENTIALS=$ETC/credentials
UNIT_DIR=$ROOT/etc/systemd/system
RELEASE_ID=$(sha256sum "$PROGRAM" | cut -c1-12)

STAGE=$OPT/releases/.staging-$RELEASE_ID
STOPPED_FOR_SCAN=0
COMMITTING=0
FIRST_NEW_DIR=""
cleanup() {
    status=$?
    rm -rf "$STAGE"
    if [ "$status" -ne 0 ] && [ "$COMMITTING" = 0 ] && [ -n "$FIRST_NEW_DIR" ]; then
        rm -rf "$FIRST_NEW_DIR"
    fi
    if [ "$STOPPED_FOR_SCAN" = 1 ]; then
        say "starting the previous version again"
        system systemctl start "$UNIT" || true
    fi
    if [ "$status" -ne 0 ] && [ "$COMMITTING" = 0 ]; then
        echo "install.sh: stopped before changing anything; the installed version and its configuration are unchanged." >&2
    fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- checks; nothing changes before they pass
if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ]; then
    die "run as root: sudo $0 ${ARGS[*]}"
fi

arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
case "$arch" in
    arm64 | aarch64) ;;
    armhf | armel | armv7l | armv6l)
        die "this is a 32-bit OS ($arch). SensorKit needs 64-bit Raspberry Pi OS (linux-arm64); 32-bit is not supported. Flash 'Raspberry Pi OS (64-bit)' with Raspberry Pi Imager (Pi Zero 2 W, 3B+, 4 or 5)." ;;
    *)
        die "this machine is '$arch', but the bundle is built for 64-bit ARM (linux-arm64). Run it on a Raspberry Pi with 64-bit Raspberry Pi OS." ;;
esac

if [ -n "$CONFIG" ]; then
    [ -f "$CONFIG" ] || die "--config $CONFIG does not exist"
    CANDIDATE_CONFIG=$CONFIG
elif [ -f "$INSTALLED_CONFIG" ]; then
    CANDIDATE_CONFIG=$INSTALLED_CONFIG
else
    die "no configuration yet: pass --config FILE on the first install (start from $BUNDLE/deploy/examples/)"
fi

if [ -n "$MQTT_PASSWORD_FILE" ]; then
    [ -n "$MQTT_USERNAME" ] || die "--mqtt-password-file needs --mqtt-username as well"
    [ -s "$MQTT_PASSWORD_FILE" ] || die "--mqtt-password-file $MQTT_PASSWORD_FILE does not exist or is empty"
fi

if [ -n "$TLS_KEY" ]; then
    [ "$COMPONENT" = gateway ] || die "--tls-key is for the gateway: a node trusts the broker through Mqtt:CaFile"
    [ -s "$TLS_KEY" ] || die "--tls-key $TLS_KEY does not exist or is empty"
fi

if [ "$COMPONENT" = node ] && [ "$SCAN" = 1 ] && [ ! -e "$ROOT/dev/i2c-1" ]; then
    die "I2C is not enabled: /dev/i2c-1 does not exist. Run 'sudo raspi-config nonint do_i2c 0' (or add dtparam=i2c_arm=on to /boot/firmware/config.txt), reboot, and run this script again. Nothing was changed."
fi

# ---------------------------------------------------------------- stage the new release beside the running one
# On the same file system as the releases, so that moving it into place is a rename.
dir=$OPT/releases
while [ ! -d "$dir" ]; do
    FIRST_NEW_DIR=$dir
    dir=$(dirname "$dir")
done
mkdir -p "$OPT/releases"
rm -rf "$STAGE"
cp -a "$BUNDLE" "$STAGE"
if [ -f "$STAGE/appsettings.json" ] && [ ! -L "$STAGE/appsettings.json" ]; then
    mv "$STAGE/appsettings.json" "$STAGE/appsettings.defaults.json"
fi
# Root owns the program: the service user and whoever copied the bundle must not be able to change it.
system chown -R root:root "$STAGE"
chmod -R u+rwX,go+rX,go-w "$STAGE"
# An installed release links appsettings.json to /etc: remove the link, never write through it.
rm -f "$STAGE/appsettings.json"
cp "$CANDIDATE_CONFIG" "$STAGE/appsettings.json"

if [ "$COMPONENT" = node ] && [ "$SCAN" = 1 ]; then
    # Two programs on one bus would interleave their transfers to the same chips: stop the old node first.
    if [ -z "$ROOT" ] && systemctl is-active --quiet "$UNIT"; then
        say "stopping $UNIT for the sensor check"
        systemctl stop "$UNIT"
        STOPPED_FOR_SCAN=1
    fi
    say "checking the configured sensors (sensorkit-node scan)"
    set +e
    # The scan validates the whole configuration, so it needs the account the service will use:
    # the new one, or on an upgrade the one stored by an earlier install.
    scan_args=(scan)
    scan_username=$MQTT_USERNAME
    scan_password_file=$MQTT_PASSWORD_FILE
    if [ -z "$scan_username" ] && [ -f "$UNIT_DIR/$UNIT.d/credentials.conf" ]; then
        scan_username=$(sed -n 's/^Environment=Mqtt__Username=//p' "$UNIT_DIR/$UNIT.d/credentials.conf")
        scan_password_file=$CREDENTIALS/mqtt-password
    fi
    if [ -n "$scan_username" ]; then
        scan_args+=(--Mqtt:Username "$scan_username")
    fi
    if [ -n "$scan_password_file" ]; then
        scan_args+=(--Mqtt:PasswordFile "$scan_password_file")
    fi
    "$STAGE/$EXE" "${scan_args[@]}"
    scan=$?
    set -e
    case "$scan" in
        0) ;;
        1) die "configured sensors do not answer (see above): fix the wiring or the configuration, then run this script again." ;;
        2) die "the configuration is invalid (see above; the line names the key)." ;;
        3) die "the I2C bus cannot be used (see above)." ;;
        *) die "sensorkit-node scan failed with exit code $scan." ;;
    esac
fi

# ---------------------------------------------------------------- commit
COMMITTING=1
say "installing $COMPONENT release $RELEASE_ID"
if ! getent group "$I2C_GROUP" >/dev/null 2>&1 || [ -n "$ROOT" ]; then
    # Raspberry Pi OS has the group and its udev rule; elsewhere /dev/i2c-* needs a rule giving it to the group.
    system groupadd --system --force "$I2C_GROUP"
fi
if [ -n "$ROOT" ] || ! id "$SERVICE_USER" >/dev/null 2>&1; then
    system useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$SERVICE_USER"
fi
system usermod --append --groups "$I2C_GROUP" "$SERVICE_USER"

install -d -m 0755 "$ETC"
if [ -n "$CONFIG" ]; then
    if [ -f "$INSTALLED_CONFIG" ] && ! cmp -s "$CONFIG" "$INSTALLED_CONFIG"; then
        backup=$INSTALLED_CONFIG.$(date -u +%Y%m%dT%H%M%SZ).bak
        cp -p "$INSTALLED_CONFIG" "$backup"
        say "previous configuration kept as $backup"
    fi
    install -m 0640 "$CONFIG" "$INSTALLED_CONFIG.new"
    mv -f "$INSTALLED_CONFIG.new" "$INSTALLED_CONFIG"
fi
system chown "root:$SERVICE_USER" "$CONFIG_TARGET"

DROPIN_DIR=$UNIT_DIR/$UNIT.d
if [ -n "$MQTT_PASSWORD_FILE" ]; then
    install -d -m 0700 "$CREDENTIALS"
    install -m 0600 "$MQTT_PASSWORD_FILE" "$CREDENTIALS/mqtt-password.new"
    mv -f "$CREDENTIALS/mqtt-password.new" "$CREDENTIALS/mqtt-password"
    system chown root:root /etc/sensorkit/credentials/mqtt-password
    install -d -m 0755 "$DROPIN_DIR"
    # The password never appears in the unit, the configuration or the log: systemd copies the root-only file to
    # $CREDENTIALS_DIRECTORY (%d), readable by the service alone, for as long as it runs.
    # The node's account is Mqtt:*, the gateway's (on an external broker) Broker:*.
    section=Mqtt
    if [ "$COMPONENT" = gateway ]; then
        section=Broker
    fi
    cat >"$DROPIN_DIR/credentials.conf" <<EOF
# Written by install.sh: MQTT account of this $COMPONENT.
[Service]
LoadCredential=mqtt-password:/etc/sensorkit/credentials/mqtt-password
Environment=${section}__Username=$MQTT_USERNAME
Environment=${section}__PasswordFile=%d/mqtt-password
EOF
    chmod 0644 "$DROPIN_DIR/credentials.conf"
fi
if [ -n "$TLS_KEY" ]; then
    install -d -m 0700 "$CREDENTIALS"
    install -m 0600 "$TLS_KEY" "$CREDENTIALS/broker-tls-key.new"
    mv -f "$CREDENTIALS/broker-tls-key.new" "$CREDENTIALS/broker-tls-key"
    system chown root:root /etc/sensorkit/credentials/broker-tls-key
    install -d -m 0755 "$DROPIN_DIR"
    cat >"$DROPIN_DIR/tls.conf" <<EOF
# Written by install.sh: the private key of the embedded broker's TLS certificate, readable by root alone on disk.
[Service]
LoadCredential=broker-tls-key:/etc/sensorkit/credentials/broker-tls-key
Environment=Broker__Tls__KeyFile=%d/broker-tls-key
EOF
    chmod 0644 "$DROPIN_DIR/tls.conf"
fi

# The release directory is complete before "current" points at it; the switch is one rename.
RELEASE=$OPT/releases/$RELEASE_ID
if [ -d "$RELEASE" ]; then
    rm -rf "$STAGE"
else
    mv "$STAGE" "$RELEASE"
fi
ln -sfn "$CONFIG_TARGET" "$RELEASE/appsettings.json"
PREVIOUS=$(readlink "$OPT/current" 2>/dev/null || true)
ln -sfn "releases/$RELEASE_ID" "$OPT/current.new"
mv -T "$OPT/current.new" "$OPT/current"
install -d -m 0755 "$ROOT/usr/local/bin"
ln -sfn "/opt/sensorkit/$COMPONENT/current/$EXE" "$ROOT/usr/local/bin/$EXE"
install -d -m 0755 "$UNIT_DIR"
install -m 0644 "$BUNDLE/deploy/$UNIT" "$UNIT_DIR/$UNIT.new"
mv -f "$UNIT_DIR/$UNIT.new" "$UNIT_DIR/$UNIT"

# Keep the running release and the one before it, for a quick way back.
for old in "$OPT"/releases/*; do
    name=$(basename "$old")
    if [ "releases/$name" != "releases/$RELEASE_ID" ] && [ "releases/$name" != "$PREVIOUS" ]; then
        rm -rf "$old"
    fi
done

system systemctl daemon-reload
system systemctl enable "$UNIT"
STOPPED_FOR_SCAN=0
if [ "$START" = 1 ]; then
    say "starting $UNIT"
    # Type=notify: restart returns once the service reported READY=1, or fails.
    if ! system systemctl restart "$UNIT"; then
        if [ -n "$PREVIOUS" ] && [ "$PREVIOUS" != "releases/$RELEASE_ID" ]; then
            ln -sfn "$PREVIOUS" "$OPT/current.new"
            mv -T "$OPT/current.new" "$OPT/current"
            system systemctl restart "$UNIT" || true
            die "$UNIT did not start; went back to $PREVIOUS. See: journalctl -u $UNIT -n 50"
        fi
        die "$UNIT did not start. See: journalctl -u $UNIT -n 50"
    fi
fi
say "done: $UNIT runs release $RELEASE_ID (configuration $CONFIG_TARGET, state /var/lib/sensorkit-$COMPONENT)"
