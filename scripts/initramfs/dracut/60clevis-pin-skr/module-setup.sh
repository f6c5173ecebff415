#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# dracut module: the Clevis "skr" pin in the initramfs. Installs clevis-decrypt-skr, skr-agent
# (with its libraries: dracut's inst_multiple resolves them), jose, and the CA certificates under
# /etc/skr that the pin's JWE headers name, the local agent config /etc/skr/agent.toml (what the
# pin may take from a LUKS header); the TPM drivers and the tpm2-tss TCTI modules that
# skr-agent's TCTI loader opens at run time (dlopen: not found by dependency resolution) for
# `tpm` evidence; asks for the network (rd.neednet=1) so skr-agent can reach skrd before the root
# disk is unlocked.

check() {
    require_binaries clevis-decrypt-skr skr-agent jose || return 1
    return 0
}

depends() {
    echo clevis network
    return 0
}

cmdline() {
    echo "rd.neednet=1"
}

installkernel() {
    # TPM 2.0 character devices (/dev/tpmrm0): CRB and TIS interfaces; absent modules are skipped.
    instmods -o tpm_crb tpm_tis tpm_tis_core
    return 0
}

install() {
    if [[ $hostonly_cmdline == "yes" ]]; then
        local conf="${initdir}/etc/cmdline.d/99clevis-pin-skr.conf"
        mkdir -p "${initdir}/etc/cmdline.d"
        echo "rd.neednet=1" > "$conf"
    fi
    inst_multiple clevis-decrypt-skr skr-agent jose mktemp cat
    inst_libdir_file "libtss2-tcti-device.so*"
    # Trust anchors for skrd's TLS certificate (the pin records the CA path it was bound with).
    local ca
    for ca in "${SKR_CA_DIR:-/etc/skr}"/*.crt "${SKR_CA_DIR:-/etc/skr}"/*.pem; do
        [ -f "$ca" ] && inst_simple "$ca"
    done
    # skr-agent reads it at /etc/skr/agent.toml; without it the pin uses a header's servers and
    # CA as bound.
    if [ -f "${SKR_CA_DIR:-/etc/skr}/agent.toml" ]; then
        inst_simple "${SKR_CA_DIR:-/etc/skr}/agent.toml" /etc/skr/agent.toml
    fi
    return 0
}
