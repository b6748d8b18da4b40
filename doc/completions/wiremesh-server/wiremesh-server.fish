# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_wiremesh_server_global_optspecs
    string join \n c/config-dir= d/data-dir= backend= mtu= no-routing h/help V/version
end

function __fish_wiremesh_server_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_wiremesh_server_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_wiremesh_server_using_subcommand
    set -l cmd (__fish_wiremesh_server_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -l backend -d 'WireGuard implementation [default: kernel]' -r -f -a "kernel\t''
userspace\t''"
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -l mtu -d 'MTU of the WireGuard interface [default: 1280]' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -l no-routing -d 'Do not add a route for the whole network to the interface'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -s V -l version -d 'Print version'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "new" -d 'Create a new network'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "import" -d 'Import a network from innernet-server (its files are only read)'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "uninstall" -d 'Delete a network: its interface, config and database'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "serve" -d 'Serve a network: bring its interface up and answer its peers'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "add-peer" -d 'Invite a new peer'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "add-device" -d 'Add a device that cannot run wiremesh (a phone, a router): it joins through a hub with a wg-quick configuration (and a QR code with --qr)'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "export-device" -d 'Issue a device\'s configuration again (when `list` says it is stale); a device whose key was generated here gets a new key and address'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "rename-peer" -d 'Rename a peer or device'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "disable-peer" -d 'Disable a peer or device: it leaves every interface and can no longer use the API'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "enable-peer" -d 'Enable a disabled peer or device'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "delete-peer" -d 'Delete a peer or device for good: it leaves every interface, and its address is never given to another peer (an unredeemed invitation\'s address is freed)'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "settings" -d 'Show or change the network\'s settings'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "audit" -d 'Show the audit log: every change, who made it (the command line\'s user, an admin peer, the server itself) and when'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "create-token" -d 'Make a token for the automation API (shown once; only its hash is kept)'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "list-tokens" -d 'List the automation API\'s tokens (never their secrets)'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "revoke-token" -d 'Revoke a token: it is refused from the next request on'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "set-endpoint" -d 'Move the server\'s public endpoint: every wiremesh client records the new one in its config and follows at once, before the old one goes away'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "add-cidr" -d 'Add a CIDR'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "rename-cidr" -d 'Rename a CIDR'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "delete-cidr" -d 'Delete a CIDR (it must hold no peers, children or associations)'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "add-association" -d 'Let two CIDRs\' peers see each other'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "delete-association" -d 'Delete an association between two CIDRs'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "list-associations" -d 'List the associations'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "add-rule" -d 'Add a port and protocol rule (plans it first: who gains and who loses access)'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "delete-rule" -d 'Delete a port and protocol rule'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "list-rules" -d 'List the rules, isolated CIDRs and which hosts enforce them'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "isolate-cidr" -d 'Isolate a CIDR: its members accept nothing from each other unless a rule allows it'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "explain" -d 'Explain what the policy says about a packet, and whether its receiver enforces it'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "advertise-routes" -d 'Offer routes through a gateway peer: networks behind it, or the exit node'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "approve-routes" -d 'Approve a gateway\'s offered routes (or take the approval back with --revoke)'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "auto-approve-routes" -d 'Approve routes offered by peers of a CIDR as they arrive'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "list-routes" -d 'List the offered routes, their approval and the auto-approvals'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "list" -d 'List the CIDRs as a tree with their peers'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "backup" -d 'Copy a network\'s database with SQLite\'s online backup (safe while `serve` runs)'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c wiremesh-server -n "__fish_wiremesh_server_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand new" -l network-name -d 'Name of the network, also its interface name' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand new" -l network-cidr -d 'The whole network, e.g. 10.42.0.0/16' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand new" -l external-endpoint -d 'Where peers reach this server from outside, HOST:PORT' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand new" -l listen-port -d 'WireGuard UDP port, also the API\'s TCP port' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand new" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand new" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand new" -l auto-external-endpoint -d 'Use this host\'s public IP address (found through DNS) and the listen port'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand new" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand import" -l innernet-config -d 'innernet\'s config file [default: /etc/innernet-server/<INTERFACE>.conf]' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand import" -l innernet-db -d 'innernet\'s database [default: /var/lib/innernet-server/<INTERFACE>.db]' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand import" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand import" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand import" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand uninstall" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand uninstall" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand uninstall" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand uninstall" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand serve" -l backend -d 'WireGuard implementation [default: kernel]' -r -f -a "kernel\t''
userspace\t''"
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand serve" -l mtu -d 'MTU of the WireGuard interface [default: 1280]' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand serve" -l hosts-path -d 'Hosts file to keep the peers\' names in' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand serve" -l host-suffix -d 'Suffix of peer names: `<peer>.<SUFFIX>` [default: `<peer>.<network>.wg`; \'\' for none]' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand serve" -l max-connections -d 'Connections held at once, all peers together [default: the descriptor limit less 256]' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand serve" -l max-connections-per-peer -d 'Connections one peer (tunnel address) may hold; more are answered 429 [default: 16]' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand serve" -l max-polls-per-peer -d '`/v2` long polls one peer may hold; more are answered 429 [default: 4]' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand serve" -l api-socket -d 'The automation API\'s Unix socket [default: /run/wiremesh-server/<INTERFACE>.sock]' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand serve" -l api-listen -d 'Also serve the automation API on this TCP address, with TLS (needs --api-tls-cert and --api-tls-key), e.g. 0.0.0.0:8443' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand serve" -l api-tls-cert -d 'The TLS certificate chain of --api-listen (PEM; read again when it changes)' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand serve" -l api-tls-key -d 'The TLS private key of --api-listen (PEM: PKCS#8, PKCS#1 or SEC1)' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand serve" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand serve" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand serve" -l no-routing -d 'Do not add a route for the whole network to the interface'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand serve" -l no-write-hosts -d 'Do not write peer names to a hosts file'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand serve" -l no-firewall -d 'Do not enforce the port and protocol policy on the server\'s own interface (no nftables table is programmed; one left from before is removed)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand serve" -l no-api-socket -d 'Do not serve the automation API on a Unix socket'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand serve" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-peer" -l name -d 'Name of the new peer' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-peer" -l ip -d 'The peer\'s address' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-peer" -l cidr -d 'Name of the (leaf) CIDR the peer joins' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-peer" -l admin -d 'Whether the peer may administer the network' -r -f -a "true\t''
false\t''"
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-peer" -l save-config -d 'Where to write the invitation (must not exist) [default: asked, offering <NAME>.toml]' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-peer" -l invite-expires -d 'How long the invitation is valid, e.g. 30m, 12h, 14d, 2w [default: 14d]' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-peer" -l ephemeral -d 'An ephemeral peer (CI runners, autoscaled nodes): the server deletes it once it has been offline this long, e.g. 10m, 1h (at least 1m)' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-peer" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-peer" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-peer" -l auto-ip -d 'Give the peer the CIDR\'s first free address'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-peer" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-peer" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-device" -l name -d 'Name of the new device' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-device" -l ip -d 'The device\'s address' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-device" -l cidr -d 'Name of the (leaf) CIDR the device joins: what it sees and who sees it follow from the CIDR\'s associations and rules' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-device" -l public-key -d 'The public key the device generated (preferred: nothing secret leaves the device). Without it, wiremesh generates the key pair and writes the private key into the configuration, once; it keeps no copy' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-device" -l hub -d 'The peer the device joins through (a wiremesh peer with a public endpoint, e.g. a gateway on the device\'s LAN) [default: the server]' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-device" -l save-config -d 'Where to write the wg-quick configuration (must not exist) [default: asked, offering <NAME>.conf]' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-device" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-device" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-device" -l auto-ip -d 'Give the device the CIDR\'s first free address'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-device" -l psk -d 'Give the device a preshared key (kept in the server\'s database, sent only to its hub, and written into the configuration)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-device" -l full-tunnel -d 'Send everything through the hub, which is the device\'s exit node (its traffic beyond the mesh leaves the hub masqueraded)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-device" -l qr -d 'Also show the configuration as a QR code on the terminal, and write it as a PNG image beside the configuration (<PATH>.png, mode 0600)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-device" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-device" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand export-device" -l name -d 'Name of the device' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand export-device" -l save-config -d 'Where to write the wg-quick configuration (must not exist) [default: asked, offering <NAME>.conf]' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand export-device" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand export-device" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand export-device" -l qr -d 'Also show the configuration as a QR code on the terminal, and write it as a PNG image beside the configuration (<PATH>.png, mode 0600)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand export-device" -l yes -d 'Do not ask for confirmation (a device whose key was generated here becomes a new identity: a new key and a new address, the old one disabled)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand export-device" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand rename-peer" -l name -d 'Current name of the peer' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand rename-peer" -l new-name -d 'New name of the peer' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand rename-peer" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand rename-peer" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand rename-peer" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand rename-peer" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand disable-peer" -l name -d 'Name of the peer' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand disable-peer" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand disable-peer" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand disable-peer" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand disable-peer" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand enable-peer" -l name -d 'Name of the peer' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand enable-peer" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand enable-peer" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand enable-peer" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand enable-peer" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-peer" -l name -d 'Name of the peer' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-peer" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-peer" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-peer" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-peer" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand settings" -l self-deletion -d 'Whether a peer may delete itself (`wiremesh uninstall` deregisters its host)' -r -f -a "allow\t''
forbid\t''"
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand settings" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand settings" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand settings" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand audit" -l limit -d 'How many of the newest entries to show' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand audit" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand audit" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand audit" -l json -d 'Machine-readable JSON (shape documented in doc/json-output.md)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand audit" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand create-token" -l name -d 'The token\'s name (letters, digits, `-`, `_`, `.`), as the audit log shows it' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand create-token" -l scope -d 'What it may do: read, devices, peers, policy or admin (repeat for several)' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand create-token" -l expires -d 'How long it is valid, e.g. 30d, 12h [default: until revoked]' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand create-token" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand create-token" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand create-token" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list-tokens" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list-tokens" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list-tokens" -l json -d 'Machine-readable JSON (shape documented in doc/json-output.md)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list-tokens" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand revoke-token" -l name -d 'The token\'s name' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand revoke-token" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand revoke-token" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand revoke-token" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand set-endpoint" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand set-endpoint" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand set-endpoint" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand set-endpoint" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-cidr" -l name -d 'Name of the new CIDR' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-cidr" -l cidr -d 'The network of the new CIDR, e.g. 10.42.1.0/24' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-cidr" -l parent -d 'Name of the parent CIDR' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-cidr" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-cidr" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-cidr" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-cidr" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand rename-cidr" -l name -d 'Current name of the CIDR' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand rename-cidr" -l new-name -d 'New name of the CIDR' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand rename-cidr" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand rename-cidr" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand rename-cidr" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand rename-cidr" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-cidr" -l name -d 'Name of the CIDR' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-cidr" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-cidr" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-cidr" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-cidr" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-association" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-association" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-association" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-association" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-association" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-association" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-association" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-association" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list-associations" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list-associations" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list-associations" -l json -d 'Machine-readable JSON (shape documented in doc/json-output.md)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list-associations" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-rule" -l from -d 'Who may open connections: a CIDR or peer name (`cidr:NAME` or `peer:NAME` where a name is both), or `any` (every peer the scope links to the destination)' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-rule" -l to -d 'Which hosts accept them: a CIDR or peer name, or `route:NET` (a network gateways carry: the rule opens it through them, and nothing on the gateways)' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-rule" -l proto -d 'Protocol: tcp, udp, icmp (ICMPv6 on IPv6) or any' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-rule" -l ports -d 'Destination ports of a tcp or udp rule: 22, 8000-8080, or a list (22,53,8000-8080) [default: every port]' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-rule" -l association -d 'Attach the rule to the association of these two CIDRs [default: the one association linking source and destination, else the smallest CIDR holding both]' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-rule" -l within -d 'Attach the rule to this CIDR: traffic among its members' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-rule" -l note -d 'A note for people: why the rule exists' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-rule" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-rule" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-rule" -l plan -d 'Show who gains and who loses access, and change nothing'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-rule" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand add-rule" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-rule" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-rule" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-rule" -l plan -d 'Show who gains and who loses access, and change nothing'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-rule" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand delete-rule" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list-rules" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list-rules" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list-rules" -l json -d 'Machine-readable JSON (shape documented in doc/json-output.md)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list-rules" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand isolate-cidr" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand isolate-cidr" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand isolate-cidr" -l off -d 'End the isolation instead'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand isolate-cidr" -l plan -d 'Show who gains and who loses access, and change nothing'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand isolate-cidr" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand isolate-cidr" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand explain" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand explain" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand explain" -l json -d 'Machine-readable JSON'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand explain" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand advertise-routes" -l peer -d 'The gateway peer [default on a client: this host; required on the server]' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand advertise-routes" -l routes -d 'Networks behind the gateway, comma-separated: 192.168.10.0/24,172.31.0.0/16 (of the mesh\'s address family, outside the mesh network)' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand advertise-routes" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand advertise-routes" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand advertise-routes" -l exit-node -d 'Also offer to be an exit node: the default route of the mesh\'s family'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand advertise-routes" -l withdraw -d 'Withdraw everything the gateway offers'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand advertise-routes" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand approve-routes" -l peer -d 'The gateway peer' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand approve-routes" -l routes -d 'Which of its networks, comma-separated (an exit node\'s is 0.0.0.0/0 or ::/0) [default: everything it offers]' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand approve-routes" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand approve-routes" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand approve-routes" -l revoke -d 'Take the approval back instead: clients stop using the routes'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand approve-routes" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand auto-approve-routes" -l routes -d 'Offered networks inside these prefixes are approved at once, comma-separated' -r
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand auto-approve-routes" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand auto-approve-routes" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand auto-approve-routes" -l exit-node -d 'Offers to be an exit node are approved at once'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand auto-approve-routes" -l off -d 'Remove the CIDR\'s auto-approval'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand auto-approve-routes" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list-routes" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list-routes" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list-routes" -l json -d 'Machine-readable JSON (shape documented in doc/json-output.md)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list-routes" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list" -l json -d 'Machine-readable JSON (shape documented in doc/json-output.md)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand list" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand backup" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand backup" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand backup" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand completions" -s c -l config-dir -d 'Directory of the network config files' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand completions" -s d -l data-dir -d 'Directory of the network databases' -r -F
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand completions" -s h -l help -d 'Print help'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "new" -d 'Create a new network'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "import" -d 'Import a network from innernet-server (its files are only read)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "uninstall" -d 'Delete a network: its interface, config and database'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "serve" -d 'Serve a network: bring its interface up and answer its peers'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "add-peer" -d 'Invite a new peer'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "add-device" -d 'Add a device that cannot run wiremesh (a phone, a router): it joins through a hub with a wg-quick configuration (and a QR code with --qr)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "export-device" -d 'Issue a device\'s configuration again (when `list` says it is stale); a device whose key was generated here gets a new key and address'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "rename-peer" -d 'Rename a peer or device'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "disable-peer" -d 'Disable a peer or device: it leaves every interface and can no longer use the API'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "enable-peer" -d 'Enable a disabled peer or device'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "delete-peer" -d 'Delete a peer or device for good: it leaves every interface, and its address is never given to another peer (an unredeemed invitation\'s address is freed)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "settings" -d 'Show or change the network\'s settings'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "audit" -d 'Show the audit log: every change, who made it (the command line\'s user, an admin peer, the server itself) and when'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "create-token" -d 'Make a token for the automation API (shown once; only its hash is kept)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "list-tokens" -d 'List the automation API\'s tokens (never their secrets)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "revoke-token" -d 'Revoke a token: it is refused from the next request on'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "set-endpoint" -d 'Move the server\'s public endpoint: every wiremesh client records the new one in its config and follows at once, before the old one goes away'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "add-cidr" -d 'Add a CIDR'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "rename-cidr" -d 'Rename a CIDR'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "delete-cidr" -d 'Delete a CIDR (it must hold no peers, children or associations)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "add-association" -d 'Let two CIDRs\' peers see each other'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "delete-association" -d 'Delete an association between two CIDRs'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "list-associations" -d 'List the associations'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "add-rule" -d 'Add a port and protocol rule (plans it first: who gains and who loses access)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "delete-rule" -d 'Delete a port and protocol rule'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "list-rules" -d 'List the rules, isolated CIDRs and which hosts enforce them'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "isolate-cidr" -d 'Isolate a CIDR: its members accept nothing from each other unless a rule allows it'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "explain" -d 'Explain what the policy says about a packet, and whether its receiver enforces it'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "advertise-routes" -d 'Offer routes through a gateway peer: networks behind it, or the exit node'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "approve-routes" -d 'Approve a gateway\'s offered routes (or take the approval back with --revoke)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "auto-approve-routes" -d 'Approve routes offered by peers of a CIDR as they arrive'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "list-routes" -d 'List the offered routes, their approval and the auto-approvals'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "list" -d 'List the CIDRs as a tree with their peers'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "backup" -d 'Copy a network\'s database with SQLite\'s online backup (safe while `serve` runs)'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "completions" -d 'Print shell completions'
complete -c wiremesh-server -n "__fish_wiremesh_server_using_subcommand help; and not __fish_seen_subcommand_from new import uninstall serve add-peer add-device export-device rename-peer disable-peer enable-peer delete-peer settings audit create-token list-tokens revoke-token set-endpoint add-cidr rename-cidr delete-cidr add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes approve-routes auto-approve-routes list-routes list backup completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
