# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_wiremesh_global_optspecs
    string join \n v/verbose c/config-dir= d/data-dir= backend= mtu= no-routing no-firewall api-address= h/help V/version
end

function __fish_wiremesh_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_wiremesh_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_wiremesh_using_subcommand
    set -l cmd (__fish_wiremesh_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c wiremesh -n "__fish_wiremesh_needs_command" -s c -l config-dir -d 'Directory of the network configs' -r -F
complete -c wiremesh -n "__fish_wiremesh_needs_command" -s d -l data-dir -d 'Directory of the peer caches' -r -F
complete -c wiremesh -n "__fish_wiremesh_needs_command" -l backend -d 'WireGuard implementation: the kernel module or a userspace program (wireguard-go, or WG_USERSPACE_IMPLEMENTATION). Without it, each network uses the implementation its interface runs on, else the one recorded at install, else the kernel; `install` and `up` record the one they use' -r -f -a "kernel\t''
userspace\t''"
complete -c wiremesh -n "__fish_wiremesh_needs_command" -l mtu -d 'MTU of the WireGuard interface' -r
complete -c wiremesh -n "__fish_wiremesh_needs_command" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_needs_command" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -l no-routing -d 'Do not add a route for the network to the interface'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -l no-firewall -d 'Do not enforce the network\'s port and protocol policy on this host: no nftables table is programmed (one left from before is removed), and the server lists the host as not enforcing'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -s V -l version -d 'Print version'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "install" -d 'Join a network with an invitation file'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "show" -d 'Show the networks that are up: peers, endpoints, handshakes, transfer'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "up" -d 'Bring networks up and sync their peers once, or keep syncing with --daemon'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "fetch" -d 'Sync the peers of a network that is up'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "down" -d 'Take a network\'s interface down (its files stay)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "uninstall" -d 'Remove a network: its interface, config and peer cache'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "reset-cache" -d 'Set an unreadable or corrupt peer cache aside, so the next sync trusts the keys the server offers (as at install) instead of holding back peers it cannot check'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "doctor" -d 'Check this host\'s networks: files, interface, server, handshakes, rp_filter'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "add-peer" -d 'Invite a new peer (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "add-device" -d 'Add a device that cannot run wiremesh (a phone, a router): it joins through a hub with a wg-quick configuration, and a QR code with --qr (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "export-device" -d 'Issue a device\'s configuration again; one whose key the server generated gets a new key and address (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "list-devices" -d 'List the devices, their hubs and stale configurations (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "rename-peer" -d 'Rename a peer (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "disable-peer" -d 'Disable a peer: it leaves everyone\'s interface and loses API access (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "enable-peer" -d 'Enable a disabled peer (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "delete-peer" -d 'Delete a peer or device for good: it leaves every interface, and its address is never given to another peer (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "list-peers" -d 'List every peer of the network, including disabled and invited ones (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "add-cidr" -d 'Add a CIDR (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "rename-cidr" -d 'Rename a CIDR (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "delete-cidr" -d 'Delete a CIDR that holds no peers, children or associations (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "list-cidrs" -d 'List the network\'s CIDRs (from the local cache)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "add-association" -d 'Let the peers of two CIDRs see each other (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "delete-association" -d 'Delete the association between two CIDRs (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "list-associations" -d 'List the associations between CIDRs (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "add-rule" -d 'Add a port and protocol rule, showing first who gains and who loses access (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "delete-rule" -d 'Delete a port and protocol rule (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "list-rules" -d 'List the rules, isolated CIDRs and which hosts enforce them (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "isolate-cidr" -d 'Isolate a CIDR: its members accept nothing from each other unless a rule allows it (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "explain" -d 'Explain what the policy says about a packet, and whether its receiver enforces it (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "advertise-routes" -d 'Offer routes through this host: networks behind it, or the exit node (another peer with --peer: admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "accept-routes" -d 'Use the subnet routes gateways offer (saved in the network\'s config), or stop with --off'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "set-exit-node" -d 'Send all traffic through a peer that offers to be an exit node (saved in the network\'s config), or stop with --off'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "approve-routes" -d 'Approve a gateway\'s offered routes, or take the approval back with --revoke (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "auto-approve-routes" -d 'Approve routes offered by peers of a CIDR as they arrive (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "list-routes" -d 'List the offered routes, their approval and the auto-approvals (admin)'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "set-listen-port" -d 'Set or unset this peer\'s fixed WireGuard listen port'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "override-endpoint" -d 'Set or unset the endpoint other peers use to reach this peer'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "override-peer-endpoint" -d 'Use a fixed endpoint for one peer, on this host only'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c wiremesh -n "__fish_wiremesh_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand install" -l name -d 'Name of the interface [default: asked, offering the network\'s name]' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand install" -l hosts-path -d 'Hosts file to keep the peers\' names in' -r -F
complete -c wiremesh -n "__fish_wiremesh_using_subcommand install" -l host-suffix -d 'Suffix of peer names: `<peer>.<SUFFIX>` [default: `<peer>.<network>.wg`; \'\' for none]' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand install" -l exclude-nat-candidates -d 'Do not report local addresses in this CIDR as candidates (repeatable)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand install" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand install" -l default-name -d 'Name the interface after the network'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand install" -s d -l delete-invite -d 'Delete the invitation file once installed'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand install" -l no-write-hosts -d 'Do not write peer names to a hosts file'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand install" -l no-nat-traversal -d 'Do not try other peers\' NAT candidates as endpoints'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand install" -l no-nat-candidates -d 'Report no NAT candidates at all'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand install" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand install" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand show" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand show" -s s -l short -d 'One line per peer'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand show" -s t -l tree -d 'Peers (one line each) under their CIDRs, as a tree'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand show" -l json -d 'Machine-readable JSON (shape documented in doc/json-output.md)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand show" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand show" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand up" -l interval -d 'Seconds between syncs of the daemon' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand up" -l max-cache-age -d 'When the server is unreachable as the interface comes up, a peer cache the server last confirmed longer ago than this brings up only the server peer, so that a peer disabled meanwhile does not come back (e.g. 12h, 7d, 2w; `never` for no limit)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand up" -l exit-node -d 'Send all traffic through this exit node, a peer\'s name or mesh address (recorded in the config, like `wiremesh set-exit-node`)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand up" -l hosts-path -d 'Hosts file to keep the peers\' names in' -r -F
complete -c wiremesh -n "__fish_wiremesh_using_subcommand up" -l host-suffix -d 'Suffix of peer names: `<peer>.<SUFFIX>` [default: `<peer>.<network>.wg`; \'\' for none]' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand up" -l exclude-nat-candidates -d 'Do not report local addresses in this CIDR as candidates (repeatable)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand up" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand up" -s d -l daemon -d 'Keep running and sync every --interval seconds'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand up" -l accept-routes -d 'Use the subnet routes gateways offer (recorded in the config, like `wiremesh accept-routes`, so later syncs and the daemon keep doing it)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand up" -l no-write-hosts -d 'Do not write peer names to a hosts file'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand up" -l no-nat-traversal -d 'Do not try other peers\' NAT candidates as endpoints'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand up" -l no-nat-candidates -d 'Report no NAT candidates at all'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand up" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand up" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand fetch" -l hosts-path -d 'Hosts file to keep the peers\' names in' -r -F
complete -c wiremesh -n "__fish_wiremesh_using_subcommand fetch" -l host-suffix -d 'Suffix of peer names: `<peer>.<SUFFIX>` [default: `<peer>.<network>.wg`; \'\' for none]' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand fetch" -l exclude-nat-candidates -d 'Do not report local addresses in this CIDR as candidates (repeatable)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand fetch" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand fetch" -l no-write-hosts -d 'Do not write peer names to a hosts file'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand fetch" -l no-nat-traversal -d 'Do not try other peers\' NAT candidates as endpoints'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand fetch" -l no-nat-candidates -d 'Report no NAT candidates at all'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand fetch" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand fetch" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand down" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand down" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand down" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand uninstall" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand uninstall" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand uninstall" -l keep-registration -d 'Leave this host registered on the server (by default it deletes itself there, when the server is reachable and allows it)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand uninstall" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand uninstall" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand reset-cache" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand reset-cache" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand reset-cache" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand reset-cache" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand doctor" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand doctor" -l json -d 'Machine-readable JSON (shape documented in doc/json-output.md)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand doctor" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-peer" -l name -d 'Name of the new peer' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-peer" -l ip -d 'The peer\'s address' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-peer" -l cidr -d 'Name of the (leaf) CIDR the peer joins' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-peer" -l admin -d 'Whether the peer may administer the network' -r -f -a "true\t''
false\t''"
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-peer" -l save-config -d 'Where to write the invitation (must not exist) [default: asked, offering <NAME>.toml]' -r -F
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-peer" -l invite-expires -d 'How long the invitation is valid, e.g. 30m, 12h, 14d, 2w [default: 14d]' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-peer" -l ephemeral -d 'An ephemeral peer (CI runners, autoscaled nodes): the server deletes it once it has been offline this long, e.g. 10m, 1h (at least 1m)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-peer" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-peer" -l auto-ip -d 'Give the peer the CIDR\'s first free address'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-peer" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-peer" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-peer" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-device" -l name -d 'Name of the new device' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-device" -l ip -d 'The device\'s address' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-device" -l cidr -d 'Name of the (leaf) CIDR the device joins: what it sees and who sees it follow from the CIDR\'s associations and rules' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-device" -l public-key -d 'The public key the device generated (preferred: nothing secret leaves the device). Without it, wiremesh generates the key pair and writes the private key into the configuration, once; it keeps no copy' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-device" -l hub -d 'The peer the device joins through (a wiremesh peer with a public endpoint, e.g. a gateway on the device\'s LAN) [default: the server]' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-device" -l save-config -d 'Where to write the wg-quick configuration (must not exist) [default: asked, offering <NAME>.conf]' -r -F
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-device" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-device" -l auto-ip -d 'Give the device the CIDR\'s first free address'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-device" -l psk -d 'Give the device a preshared key (kept in the server\'s database, sent only to its hub, and written into the configuration)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-device" -l full-tunnel -d 'Send everything through the hub, which is the device\'s exit node (its traffic beyond the mesh leaves the hub masqueraded)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-device" -l qr -d 'Also show the configuration as a QR code on the terminal, and write it as a PNG image beside the configuration (<PATH>.png, mode 0600)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-device" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-device" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-device" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand export-device" -l name -d 'Name of the device' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand export-device" -l save-config -d 'Where to write the wg-quick configuration (must not exist) [default: asked, offering <NAME>.conf]' -r -F
complete -c wiremesh -n "__fish_wiremesh_using_subcommand export-device" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand export-device" -l qr -d 'Also show the configuration as a QR code on the terminal, and write it as a PNG image beside the configuration (<PATH>.png, mode 0600)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand export-device" -l yes -d 'Do not ask for confirmation (a device whose key was generated here becomes a new identity: a new key and a new address, the old one disabled)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand export-device" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand export-device" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-devices" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-devices" -l json -d 'Machine-readable JSON (shape documented in doc/json-output.md)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-devices" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-devices" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand rename-peer" -l name -d 'Current name of the peer' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand rename-peer" -l new-name -d 'New name of the peer' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand rename-peer" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand rename-peer" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand rename-peer" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand rename-peer" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand disable-peer" -l name -d 'Name of the peer' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand disable-peer" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand disable-peer" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand disable-peer" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand disable-peer" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand enable-peer" -l name -d 'Name of the peer' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand enable-peer" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand enable-peer" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand enable-peer" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand enable-peer" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-peer" -l name -d 'Name of the peer' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-peer" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-peer" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-peer" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-peer" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-peers" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-peers" -l json -d 'Machine-readable JSON (shape documented in doc/json-output.md)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-peers" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-peers" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-cidr" -l name -d 'Name of the new CIDR' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-cidr" -l cidr -d 'The network of the new CIDR, e.g. 10.42.1.0/24' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-cidr" -l parent -d 'Name of the parent CIDR' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-cidr" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-cidr" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-cidr" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-cidr" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand rename-cidr" -l name -d 'Current name of the CIDR' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand rename-cidr" -l new-name -d 'New name of the CIDR' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand rename-cidr" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand rename-cidr" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand rename-cidr" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand rename-cidr" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-cidr" -l name -d 'Name of the CIDR' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-cidr" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-cidr" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-cidr" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-cidr" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-cidrs" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-cidrs" -s t -l tree -d 'Show the CIDRs as a tree'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-cidrs" -l json -d 'Machine-readable JSON (shape documented in doc/json-output.md)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-cidrs" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-cidrs" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-association" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-association" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-association" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-association" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-association" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-association" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-association" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-association" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-associations" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-associations" -l json -d 'Machine-readable JSON (shape documented in doc/json-output.md)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-associations" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-associations" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-rule" -l from -d 'Who may open connections: a CIDR or peer name (`cidr:NAME` or `peer:NAME` where a name is both), or `any` (every peer the scope links to the destination)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-rule" -l to -d 'Which hosts accept them: a CIDR or peer name, or `route:NET` (a network gateways carry: the rule opens it through them, and nothing on the gateways)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-rule" -l proto -d 'Protocol: tcp, udp, icmp (ICMPv6 on IPv6) or any' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-rule" -l ports -d 'Destination ports of a tcp or udp rule: 22, 8000-8080, or a list (22,53,8000-8080) [default: every port]' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-rule" -l association -d 'Attach the rule to the association of these two CIDRs [default: the one association linking source and destination, else the smallest CIDR holding both]' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-rule" -l within -d 'Attach the rule to this CIDR: traffic among its members' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-rule" -l note -d 'A note for people: why the rule exists' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-rule" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-rule" -l plan -d 'Show who gains and who loses access, and change nothing'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-rule" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-rule" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand add-rule" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-rule" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-rule" -l plan -d 'Show who gains and who loses access, and change nothing'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-rule" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-rule" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand delete-rule" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-rules" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-rules" -l json -d 'Machine-readable JSON (shape documented in doc/json-output.md)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-rules" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-rules" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand isolate-cidr" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand isolate-cidr" -l off -d 'End the isolation instead'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand isolate-cidr" -l plan -d 'Show who gains and who loses access, and change nothing'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand isolate-cidr" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand isolate-cidr" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand isolate-cidr" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand explain" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand explain" -l json -d 'Machine-readable JSON'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand explain" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand explain" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand advertise-routes" -l peer -d 'The gateway peer [default on a client: this host; required on the server]' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand advertise-routes" -l routes -d 'Networks behind the gateway, comma-separated: 192.168.10.0/24,172.31.0.0/16 (of the mesh\'s address family, outside the mesh network)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand advertise-routes" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand advertise-routes" -l exit-node -d 'Also offer to be an exit node: the default route of the mesh\'s family'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand advertise-routes" -l withdraw -d 'Withdraw everything the gateway offers'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand advertise-routes" -l no-snat -d 'As the gateway, do not masquerade mesh traffic toward the routes: for routed sites whose hosts have a route back to the mesh (saved in the network\'s config)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand advertise-routes" -l snat -d 'Masquerade mesh traffic toward the routes again (the default)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand advertise-routes" -l docker-networks -d 'Also offer the subnets of this host\'s Docker networks (of the mesh\'s address family), as `docker network inspect` lists them (the `docker` CLI follows DOCKER_HOST)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand advertise-routes" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand advertise-routes" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand accept-routes" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand accept-routes" -l off -d 'Stop using them'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand accept-routes" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand accept-routes" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand set-exit-node" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand set-exit-node" -l off -d 'Stop using an exit node'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand set-exit-node" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand set-exit-node" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand approve-routes" -l peer -d 'The gateway peer' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand approve-routes" -l routes -d 'Which of its networks, comma-separated (an exit node\'s is 0.0.0.0/0 or ::/0) [default: everything it offers]' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand approve-routes" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand approve-routes" -l revoke -d 'Take the approval back instead: clients stop using the routes'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand approve-routes" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand approve-routes" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand auto-approve-routes" -l routes -d 'Offered networks inside these prefixes are approved at once, comma-separated' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand auto-approve-routes" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand auto-approve-routes" -l exit-node -d 'Offers to be an exit node are approved at once'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand auto-approve-routes" -l off -d 'Remove the CIDR\'s auto-approval'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand auto-approve-routes" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand auto-approve-routes" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-routes" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-routes" -l json -d 'Machine-readable JSON (shape documented in doc/json-output.md)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-routes" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand list-routes" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand set-listen-port" -s l -l listen-port -d 'The UDP port WireGuard listens on' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand set-listen-port" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand set-listen-port" -s u -l unset -d 'Use a random port again'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand set-listen-port" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand set-listen-port" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand set-listen-port" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand override-endpoint" -s e -l endpoint -d 'HOST:PORT other peers should use; `0.0.0.0:PORT` means "the address the server sees"' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand override-endpoint" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand override-endpoint" -s u -l unset -d 'Let the server report the endpoint it observes again'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand override-endpoint" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand override-endpoint" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand override-endpoint" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand override-peer-endpoint" -l name -d 'Name of the peer' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand override-peer-endpoint" -s e -l endpoint -d 'HOST:PORT to reach that peer at' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand override-peer-endpoint" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand override-peer-endpoint" -s u -l unset -d 'Use what the server reports again (from the next fetch)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand override-peer-endpoint" -l yes -d 'Do not ask for confirmation'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand override-peer-endpoint" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand override-peer-endpoint" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand completions" -l api-address -d 'Reach the API at this address instead of the config\'s internal endpoint (tests, forwarded ports)' -r
complete -c wiremesh -n "__fish_wiremesh_using_subcommand completions" -s v -l verbose -d 'More logging: -v debug (and full keys in `show`), -vv trace'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand completions" -s h -l help -d 'Print help'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "install" -d 'Join a network with an invitation file'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "show" -d 'Show the networks that are up: peers, endpoints, handshakes, transfer'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "up" -d 'Bring networks up and sync their peers once, or keep syncing with --daemon'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "fetch" -d 'Sync the peers of a network that is up'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "down" -d 'Take a network\'s interface down (its files stay)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "uninstall" -d 'Remove a network: its interface, config and peer cache'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "reset-cache" -d 'Set an unreadable or corrupt peer cache aside, so the next sync trusts the keys the server offers (as at install) instead of holding back peers it cannot check'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "doctor" -d 'Check this host\'s networks: files, interface, server, handshakes, rp_filter'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "add-peer" -d 'Invite a new peer (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "add-device" -d 'Add a device that cannot run wiremesh (a phone, a router): it joins through a hub with a wg-quick configuration, and a QR code with --qr (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "export-device" -d 'Issue a device\'s configuration again; one whose key the server generated gets a new key and address (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "list-devices" -d 'List the devices, their hubs and stale configurations (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "rename-peer" -d 'Rename a peer (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "disable-peer" -d 'Disable a peer: it leaves everyone\'s interface and loses API access (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "enable-peer" -d 'Enable a disabled peer (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "delete-peer" -d 'Delete a peer or device for good: it leaves every interface, and its address is never given to another peer (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "list-peers" -d 'List every peer of the network, including disabled and invited ones (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "add-cidr" -d 'Add a CIDR (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "rename-cidr" -d 'Rename a CIDR (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "delete-cidr" -d 'Delete a CIDR that holds no peers, children or associations (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "list-cidrs" -d 'List the network\'s CIDRs (from the local cache)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "add-association" -d 'Let the peers of two CIDRs see each other (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "delete-association" -d 'Delete the association between two CIDRs (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "list-associations" -d 'List the associations between CIDRs (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "add-rule" -d 'Add a port and protocol rule, showing first who gains and who loses access (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "delete-rule" -d 'Delete a port and protocol rule (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "list-rules" -d 'List the rules, isolated CIDRs and which hosts enforce them (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "isolate-cidr" -d 'Isolate a CIDR: its members accept nothing from each other unless a rule allows it (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "explain" -d 'Explain what the policy says about a packet, and whether its receiver enforces it (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "advertise-routes" -d 'Offer routes through this host: networks behind it, or the exit node (another peer with --peer: admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "accept-routes" -d 'Use the subnet routes gateways offer (saved in the network\'s config), or stop with --off'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "set-exit-node" -d 'Send all traffic through a peer that offers to be an exit node (saved in the network\'s config), or stop with --off'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "approve-routes" -d 'Approve a gateway\'s offered routes, or take the approval back with --revoke (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "auto-approve-routes" -d 'Approve routes offered by peers of a CIDR as they arrive (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "list-routes" -d 'List the offered routes, their approval and the auto-approvals (admin)'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "set-listen-port" -d 'Set or unset this peer\'s fixed WireGuard listen port'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "override-endpoint" -d 'Set or unset the endpoint other peers use to reach this peer'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "override-peer-endpoint" -d 'Use a fixed endpoint for one peer, on this host only'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "completions" -d 'Print shell completions'
complete -c wiremesh -n "__fish_wiremesh_using_subcommand help; and not __fish_seen_subcommand_from install show up fetch down uninstall reset-cache doctor add-peer add-device export-device list-devices rename-peer disable-peer enable-peer delete-peer list-peers add-cidr rename-cidr delete-cidr list-cidrs add-association delete-association list-associations add-rule delete-rule list-rules isolate-cidr explain advertise-routes accept-routes set-exit-node approve-routes auto-approve-routes list-routes set-listen-port override-endpoint override-peer-endpoint completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
