//! A gateway on a Docker host: Docker sets the `FORWARD` policy of iptables' `filter` table
//! to `DROP`, so traffic the gateway forwards from the mesh (to container networks, a LAN or
//! the internet) would die there whatever wiremesh's own table says. Docker provides the
//! `DOCKER-USER` chain for exactly this; wiremesh puts its own rules in it, each marked with
//! the comment `wiremesh:<iface>`:
//! - `-i <iface> -d <route> -j ACCEPT` for each network the gateway forwards to;
//! - `-o <iface> -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT` for the replies.
//!
//! Nothing else in Docker's tables is touched: the rules are found again by their comment,
//! replaced when the routes change and removed when the duties end and on `down`. A host
//! without Docker (no `iptables`, or no `DOCKER-USER` chain in a family) gets nothing. Which
//! packets the mesh may send is still wiremesh's table's business (the policy and the
//! forward filter run before Docker's chains).
//!
//! Also here: the subnets of the host's Docker networks, for `advertise-routes
//! --docker-networks`.

use std::process::Command;

use ipnet::IpNet;
use wireguard_control::InterfaceName;

/// The comment marking wiremesh's rules for `iface`.
pub fn comment(iface: &InterfaceName) -> String {
    format!("wiremesh:{iface}")
}

/// The rules `iface`'s gateway duties need in `DOCKER-USER` for one family, in order.
pub fn rules(iface: &InterfaceName, nets: &[IpNet], v6: bool) -> Vec<Vec<String>> {
    let mark = comment(iface);
    let tagged = |mut rule: Vec<String>| {
        rule.extend(["-m", "comment", "--comment", &mark, "-j", "ACCEPT"].map(str::to_owned));
        rule
    };
    let mut out: Vec<Vec<String>> = nets
        .iter()
        .filter(|n| n.addr().is_ipv6() == v6)
        .map(|net| {
            tagged(vec![
                "-d".into(),
                net.to_string(),
                "-i".into(),
                iface.to_string(),
            ])
        })
        .collect();
    if !out.is_empty() {
        out.push(tagged(
            [
                "-o",
                iface.as_str(),
                "-m",
                "conntrack",
                "--ctstate",
                "RELATED,ESTABLISHED",
            ]
            .map(str::to_owned)
            .to_vec(),
        ));
    }
    out
}

/// What [`ensure`] did in one family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DockerUser {
    /// No Docker here (no `iptables` tool or no `DOCKER-USER` chain).
    Absent,
    /// The chain holds exactly wiremesh's rules for the interface (`changed`: they were
    /// written now).
    InPlace { changed: bool },
}

/// Makes `DOCKER-USER` hold exactly `wanted` (from [`rules`]) of wiremesh's rules for
/// `iface` in one family (`ip6tables` for IPv6).
pub fn ensure(
    iface: &InterfaceName,
    v6: bool,
    wanted: &[Vec<String>],
) -> Result<DockerUser, String> {
    let tool = if v6 { "ip6tables" } else { "iptables" };
    let Some(listing) = list(tool) else {
        return Ok(DockerUser::Absent);
    };
    let mark = comment(iface);
    let ours: Vec<Vec<String>> = listing
        .lines()
        .filter_map(|line| line.strip_prefix("-A DOCKER-USER "))
        .map(|rest| {
            rest.split_whitespace()
                .map(|w| w.trim_matches('"').to_owned())
                .collect::<Vec<String>>()
        })
        .filter(|words| words.contains(&mark))
        .collect();
    if same_rules(&ours, wanted) {
        return Ok(DockerUser::InPlace { changed: false });
    }
    for rule in &ours {
        run(tool, &[&["-D", "DOCKER-USER"][..], &as_strs(rule)].concat())?;
    }
    // Inserted at the top, last first, so they end up in order before Docker's RETURN.
    for rule in wanted.iter().rev() {
        run(
            tool,
            &[&["-I", "DOCKER-USER", "1"][..], &as_strs(rule)].concat(),
        )?;
    }
    Ok(DockerUser::InPlace { changed: true })
}

/// Whether the listed rules are the wanted ones: the same options, whatever order
/// `iptables -S` prints them in.
fn same_rules(listed: &[Vec<String>], wanted: &[Vec<String>]) -> bool {
    let canonical = |rule: &Vec<String>| {
        let mut pairs: Vec<String> = rule
            .join(" ")
            .split(" -")
            .map(|s| s.trim_start_matches('-').to_owned())
            .collect();
        pairs.sort();
        pairs
    };
    listed.len() == wanted.len()
        && listed
            .iter()
            .zip(wanted)
            .all(|(a, b)| canonical(a) == canonical(b))
}

fn as_strs(rule: &[String]) -> Vec<&str> {
    rule.iter().map(String::as_str).collect()
}

/// `DOCKER-USER` as `-S` lists it; `None` without the tool or the chain.
fn list(tool: &str) -> Option<String> {
    let output = Command::new(tool)
        .args(["-w", "-S", "DOCKER-USER"])
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

fn run(tool: &str, args: &[&str]) -> Result<(), String> {
    let output = Command::new(tool)
        .arg("-w")
        .args(args)
        .output()
        .map_err(|e| format!("run {tool}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{tool} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// The subnets of this host's Docker networks (through the `docker` CLI, which follows
/// `DOCKER_HOST`).
pub fn network_subnets() -> Result<Vec<IpNet>, String> {
    let docker = |args: &[&str]| -> Result<String, String> {
        let output = Command::new("docker")
            .args(args)
            .output()
            .map_err(|e| format!("run docker: {e} (is Docker installed?)"))?;
        if !output.status.success() {
            return Err(format!(
                "docker {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let ids = docker(&["network", "ls", "-q"])?;
    let ids: Vec<&str> = ids.split_whitespace().collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let inspected = docker(&[&["network", "inspect"][..], &ids].concat())?;
    subnets_of(&inspected)
}

/// The IPAM subnets in `docker network inspect`'s output.
pub fn subnets_of(inspected: &str) -> Result<Vec<IpNet>, String> {
    let networks: serde_json::Value = serde_json::from_str(inspected)
        .map_err(|e| format!("docker network inspect printed something unexpected: {e}"))?;
    let mut out = Vec::new();
    for network in networks.as_array().into_iter().flatten() {
        let configs = network
            .pointer("/IPAM/Config")
            .and_then(|c| c.as_array())
            .cloned()
            .unwrap_or_default();
        for config in configs {
            if let Some(subnet) = config.get("Subnet").and_then(|s| s.as_str()) {
                let net: IpNet = subnet
                    .parse()
                    .map_err(|e| format!("Docker network subnet {subnet:?}: {e}"))?;
                out.push(net.trunc());
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_accept_the_routes_and_the_replies_marked_as_ours() {
        let iface: InterfaceName = "wm0".parse().unwrap();
        let nets: Vec<IpNet> = vec![
            "172.17.0.0/16".parse().unwrap(),
            "fd99::/64".parse().unwrap(),
        ];
        let v4 = rules(&iface, &nets, false);
        assert_eq!(
            v4.iter().map(|r| r.join(" ")).collect::<Vec<_>>(),
            vec![
                "-d 172.17.0.0/16 -i wm0 -m comment --comment wiremesh:wm0 -j ACCEPT",
                "-o wm0 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment wiremesh:wm0 -j ACCEPT",
            ]
        );
        assert_eq!(rules(&iface, &nets, true).len(), 2);
        assert!(rules(&iface, &[], false).is_empty());
        // iptables -S prints the options in its own order.
        let listed: Vec<Vec<String>> = vec![
            "-d 172.17.0.0/16 -i wm0 -m comment --comment wiremesh:wm0 -j ACCEPT",
            "-o wm0 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment wiremesh:wm0 -j ACCEPT",
        ]
        .into_iter()
        .map(|l| l.split(' ').map(str::to_owned).collect())
        .collect();
        assert!(same_rules(&listed, &v4));
        assert!(!same_rules(&listed[..1], &v4));
    }

    #[test]
    fn subnets_come_from_the_ipam_config() {
        let inspected = r#"[
          {"Name": "bridge", "IPAM": {"Config": [{"Subnet": "172.31.77.0/24", "Gateway": "172.31.77.1"}]}},
          {"Name": "host", "IPAM": {"Config": []}},
          {"Name": "v6", "IPAM": {"Config": [{"Subnet": "fd99:77::/64"}, {"Subnet": "172.31.78.0/24"}]}}
        ]"#;
        let nets: Vec<String> = subnets_of(inspected)
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(nets, ["172.31.77.0/24", "172.31.78.0/24", "fd99:77::/64"]);
        assert!(subnets_of("not json").is_err());
    }
}
