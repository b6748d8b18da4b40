#!/usr/bin/env bash
# Checks the packages that scripts/packages.sh built into target/packages/:
# - installs both .debs with dpkg -i, checks that every file landed where a Debian admin
#   expects it (binaries, units, gzipped man pages equal to doc/man, completions equal to
#   doc/completions and to what the installed binary prints, docs, copyright) and nothing
#   else, that the installed binaries run, then removes them with dpkg --purge and checks
#   that the files are gone and the operator's data is not;
# - checks the .rpm file lists (rpm -qlp), scriptlets and dependencies.
# Run as root on a Debian machine with neither package installed; it refuses to touch an
# existing installation.
set -euo pipefail
cd "$(dirname "$0")/.."

fail() {
    echo "check-packages: $*" >&2
    exit 1
}
step() { printf -- '--> %s\n' "$*"; }

[ "$(id -u)" -eq 0 ] || fail "needs root (dpkg -i)"
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)
arch=$(dpkg --print-architecture)
rpm_arch=$(uname -m)
for pkg in wiremesh wiremesh-server; do
    if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q installed; then
        fail "$pkg is already installed here; refusing to install over it or purge it"
    fi
    [ ! -e "/usr/bin/$pkg" ] || fail "/usr/bin/$pkg exists; refusing to overwrite it"
    [ -f "target/packages/${pkg}_${version}-1_${arch}.deb" ] \
        || fail "target/packages/${pkg}_${version}-1_${arch}.deb is missing: run scripts/packages.sh"
    [ -f "target/packages/${pkg}-${version}-1.${rpm_arch}.rpm" ] \
        || fail "target/packages/${pkg}-${version}-1.${rpm_arch}.rpm is missing: run scripts/packages.sh"
done

installed=()
cleanup() {
    for pkg in "${installed[@]}"; do
        dpkg --purge "$pkg" >/dev/null 2>&1 || true
    done
    rm -rf "$scratch"
}
scratch=$(mktemp -d)
trap cleanup EXIT

# The files each package must hold, one path per line, sorted. Man pages are gzipped in the
# .deb (Debian policy) and plain in the .rpm (rpmbuild would compress them; cargo-generate-rpm
# does not, and man reads both).
expected_files() { # <pkg> deb|rpm
    local pkg=$1 kind=$2 page
    {
        echo "/usr/bin/$pkg"
        echo "/usr/lib/systemd/system/$pkg@.service"
        [ "$pkg" = wiremesh ] && echo "/usr/lib/systemd/system/wiremesh.target"
        for page in doc/man/"$pkg"/*.1; do
            if [ "$kind" = deb ]; then
                echo "/usr/share/man/man1/$(basename "$page").gz"
            else
                echo "/usr/share/man/man1/$(basename "$page")"
            fi
        done
        echo "/usr/share/bash-completion/completions/$pkg"
        if [ "$kind" = deb ]; then
            echo "/usr/share/zsh/vendor-completions/_$pkg"
        else
            echo "/usr/share/zsh/site-functions/_$pkg"
        fi
        echo "/usr/share/fish/vendor_completions.d/$pkg.fish"
        echo "/usr/share/doc/$pkg/README.md"
        echo "/usr/share/doc/$pkg/operator-guide.md"
        echo "/usr/share/doc/$pkg/json-output.md"
        [ "$pkg" = wiremesh-server ] && echo "/usr/share/doc/$pkg/api.md"
        if [ "$kind" = deb ]; then
            echo "/usr/share/doc/$pkg/copyright"
        else
            echo "/usr/share/licenses/$pkg/LICENSE"
        fi
    } | sort
}

same() { # <file a> <file b> <what>
    cmp -s "$1" "$2" || fail "$3: $1 differs from $2"
}

for pkg in wiremesh wiremesh-server; do
    deb="target/packages/${pkg}_${version}-1_${arch}.deb"
    step "$pkg: dpkg -i $deb"
    dpkg -i "$deb" >/dev/null
    installed+=("$pkg")
    dpkg-query -W -f='${Status}\n' "$pkg" | grep -qx 'install ok installed' \
        || fail "$pkg is not 'install ok installed' after dpkg -i"

    # Exactly the expected files, nothing more, nothing less.
    expected_files "$pkg" deb >"$scratch/expected"
    dpkg -L "$pkg" | while read -r path; do [ -d "$path" ] || echo "$path"; done \
        | sort >"$scratch/listed"
    diff -u "$scratch/expected" "$scratch/listed" >&2 \
        || fail "$pkg: dpkg -L differs from the expected file list (- expected, + installed)"
    while read -r path; do
        [ -f "$path" ] || fail "$pkg: $path is listed but not on disk"
    done <"$scratch/expected"

    step "$pkg: file modes, contents, and the installed binary"
    [ "$(stat -c %a "/usr/bin/$pkg")" = 755 ] || fail "/usr/bin/$pkg is not mode 755"
    [ "$(stat -c %a "/usr/lib/systemd/system/$pkg@.service")" = 644 ] \
        || fail "the unit is not mode 644"
    [ "$(command -v "$pkg")" = "/usr/bin/$pkg" ] || fail "$pkg is not found on PATH as /usr/bin/$pkg"
    "/usr/bin/$pkg" --version | grep -qx "$pkg $version" || fail "/usr/bin/$pkg --version is wrong"
    "/usr/bin/$pkg" --help >/dev/null || fail "/usr/bin/$pkg --help failed"
    grep -q "^ExecStart=/usr/bin/$pkg " "/usr/lib/systemd/system/$pkg@.service" \
        || fail "the unit does not run /usr/bin/$pkg"
    for page in doc/man/"$pkg"/*.1; do
        gzip -dc "/usr/share/man/man1/$(basename "$page").gz" >"$scratch/page"
        same "$scratch/page" "$page" "man page"
    done
    same "/usr/share/bash-completion/completions/$pkg" "doc/completions/$pkg/$pkg.bash" bash
    same "/usr/share/zsh/vendor-completions/_$pkg" "doc/completions/$pkg/_$pkg" zsh
    same "/usr/share/fish/vendor_completions.d/$pkg.fish" "doc/completions/$pkg/$pkg.fish" fish
    for shell in bash zsh fish; do
        "/usr/bin/$pkg" completions "$shell" >"$scratch/completion"
        case $shell in
            bash) same "$scratch/completion" "/usr/share/bash-completion/completions/$pkg" bash ;;
            zsh) same "$scratch/completion" "/usr/share/zsh/vendor-completions/_$pkg" zsh ;;
            fish) same "$scratch/completion" "/usr/share/fish/vendor_completions.d/$pkg.fish" fish ;;
        esac
    done
    bash -n "/usr/share/bash-completion/completions/$pkg" || fail "the bash completion does not parse"
    grep -q 'Recommends: wireguard-tools' <(dpkg-query -s "$pkg") || fail "$pkg does not recommend wireguard-tools"
    grep -q '^Depends:.*nftables' <(dpkg-query -s "$pkg") || fail "$pkg does not depend on nftables"
done

step "dpkg --purge keeps the operator's keys and databases"
mkdir -p /etc/wiremesh-server /etc/wiremesh
marker_server=/etc/wiremesh-server/.check-packages-$$
marker_client=/etc/wiremesh/.check-packages-$$
touch "$marker_server" "$marker_client"
for pkg in wiremesh wiremesh-server; do
    dpkg --purge "$pkg" >/dev/null 2>"$scratch/purge" || { cat "$scratch/purge" >&2; fail "dpkg --purge $pkg failed"; }
    if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q installed; then
        fail "$pkg is still installed after dpkg --purge"
    fi
    expected_files "$pkg" deb | while read -r path; do
        [ ! -e "$path" ] || fail "$path is left after dpkg --purge $pkg"
    done
done
installed=()
[ -e "$marker_server" ] && [ -e "$marker_client" ] || fail "purging removed files under /etc it does not own"
rm -f "$marker_server" "$marker_client"
rmdir --ignore-fail-on-non-empty /etc/wiremesh-server /etc/wiremesh

for pkg in wiremesh wiremesh-server; do
    rpm_file="target/packages/${pkg}-${version}-1.${rpm_arch}.rpm"
    step "$pkg: rpm -qlp $rpm_file"
    expected_files "$pkg" rpm >"$scratch/expected"
    rpm -qlp "$rpm_file" 2>/dev/null | sort >"$scratch/listed"
    diff -u "$scratch/expected" "$scratch/listed" >&2 \
        || fail "$pkg.rpm: rpm -qlp differs from the expected file list (- expected, + packaged)"
    rpm -qp --queryformat '%{NAME} %{VERSION}\n' "$rpm_file" 2>/dev/null | grep -qx "$pkg $version" \
        || fail "$pkg.rpm: wrong name or version"
    rpm -qp --recommends "$rpm_file" 2>/dev/null | grep -q '^wireguard-tools' \
        || fail "$pkg.rpm does not recommend wireguard-tools"
    rpm -qp --requires "$rpm_file" 2>/dev/null | grep -q '^nftables' \
        || fail "$pkg.rpm does not require nftables"
    scripts=$(rpm -qp --scripts "$rpm_file" 2>/dev/null)
    for scriptlet in postinstall preuninstall postuninstall; do
        grep -q "^$scriptlet scriptlet" <<<"$scripts" || fail "$pkg.rpm has no $scriptlet scriptlet"
    done
    grep -q 'systemctl daemon-reload' <<<"$scripts" || fail "$pkg.rpm scriptlets do not reload systemd"
    rpm -qp --dump "$rpm_file" 2>/dev/null | awk -v bin="/usr/bin/$pkg" '$1 == bin {print $5}' \
        | grep -q '755$' || fail "$pkg.rpm: /usr/bin/$pkg is not mode 755"
done

step "packages checked"
