"""Values checked as Proxmox VE's `PVE::JSONSchema` checks them: types, patterns, property strings
and the named formats a VPS driver sends.

The schema file names 102 formats that it does not define (they are Perl code in pve-common,
pve-manager and qemu-server). The rules below are those of that code, for the formats nuage's
driver uses; a value in a format without a rule is a problem ("no rule"), so a driver that
starts sending a new format makes the suite say so instead of passing unchecked.
"""

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any

Problems = list[str]
Rule = Callable[[str], bool]

# PVE::JSONSchema::check_type: booleans are exactly 0 or 1 on the wire (parse_boolean, which
# takes yes/on/true, is only used inside property strings).
INTEGER = re.compile(r"-?\d+")
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
TRUE_WORDS = {"1", "on", "yes", "true"}
FALSE_WORDS = {"0", "off", "no", "false"}
LIST_SEPARATORS = re.compile(r"[,;\s\0]+")

_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?"
CONFIGID = re.compile(r"[a-z][a-z0-9_-]+", re.IGNORECASE)
STORAGE_ID = re.compile(r"[a-z][a-z0-9\-_.]*[a-z0-9]", re.IGNORECASE)
DNS_NAME = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}")
VMID = re.compile(r"[1-9][0-9]{2,8}")
URLENCODED = re.compile(r"[-%a-zA-Z0-9_.!~*'()]*")
DISK_SIZE = re.compile(r"\d+(?:\.\d+)?[KMGT]?")
UNICAST_MAC = re.compile(r"[a-f0-9][02468ace](?::[a-f0-9]{2}){5}", re.IGNORECASE)
BRIDGE_ID = re.compile(r"[-_.\w]+")
TAG = re.compile(r"[a-z0-9_][a-z0-9_\-+.]*", re.IGNORECASE)
USERID = re.compile(r"[^\s:/]+@[A-Za-z][A-Za-z0-9.\-_]+")
IFACE = re.compile(r"[a-zA-Z][a-zA-Z0-9_]{1,20}(?:[:.]\d+)?")
SERVICE_NAME = re.compile(r"[a-zA-Z][\w\-.+]*")
FW_ALIAS = re.compile(r"(?:(?:dc|guest)/)?\+?[a-zA-Z][\w\-]*")
CONTENT_TYPES = {"images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import"}


def perl_pattern(pattern: str) -> re.Pattern[str]:
    """A schema pattern as Python compiles it: Perl's `(?^:` / `(?^i:` groups rewritten."""
    return re.compile(pattern.replace("(?^:", "(?:").replace("(?^i:", "(?i:"))


def _ip(text: str, version: int | None = None, network: bool = False) -> bool:
    try:
        value: Any = ipaddress.ip_network(text, strict=False) if network else None
        if not network:
            value = ipaddress.ip_address(text)
        elif "/" not in text:
            return False
    except ValueError:
        return False
    return version is None or value.version == version


def _port_spec(text: str) -> bool:
    """pve-fw-dport-spec / sport-spec: ports, `a:b` ranges or service names, comma separated."""
    for item in text.split(","):
        if SERVICE_NAME.fullmatch(item) and not item.isdigit():
            continue
        bounds = item.split(":")
        if len(bounds) > 2 or not all(b.isdigit() and int(b) <= 65535 for b in bounds):
            return False
    return True


def _addr_spec(text: str) -> bool:
    """pve-fw-addr-spec: addresses, CIDRs and ranges (a list), or one alias/ipset name."""
    if FW_ALIAS.fullmatch(text):
        return True
    for item in text.split(","):
        ends = item.split("-")
        ok = all(_ip(e) for e in ends) if len(ends) == 2 else _ip(item) or _ip(item, network=True)
        if not ok:
            return False
    return True


def _volume_id(text: str) -> bool:
    storage, sep, name = text.partition(":")
    return bool(sep and name and STORAGE_ID.fullmatch(storage))


def _port_or_name(text: str) -> bool:
    return (text.isdigit() and int(text) <= 255) or bool(re.fullmatch(r"[a-z][a-z0-9\-]*", text))


# pve-qm-ipconfig (qemu-server's ipconfig format), written as an inline property string.
IPCONFIG: Mapping[str, Any] = {
    "ip": {"type": "string", "format": "pve-ipv4-config", "optional": 1},
    "gw": {"type": "string", "format": "ipv4", "optional": 1, "requires": "ip"},
    "ip6": {"type": "string", "format": "pve-ipv6-config", "optional": 1},
    "gw6": {"type": "string", "format": "ipv6", "optional": 1, "requires": "ip6"},
}
CICUSTOM: Mapping[str, Any] = {
    key: {"type": "string", "format": "pve-volume-id", "optional": 1}
    for key in ("meta", "network", "user", "vendor")
}
BOOT: Mapping[str, Any] = {
    "legacy": {"type": "string", "pattern": "[acdn]{1,4}", "default_key": 1, "optional": 1},
    "order": {"type": "string", "format": "pve-configid-list", "optional": 1},
}
# qemu-server's CPUConfig.pm: $cpu_fmt, and what validate_vm_cpu_conf adds for a VM's own config.
CPU_FLAGS = (
    "pcid",
    "spec-ctrl",
    "ibpb",
    "ssbd",
    "virt-ssbd",
    "amd-ssbd",
    "amd-no-ssb",
    "pdpe1gb",
    "md-clear",
    "hv-tlbflush",
    "hv-evmcs",
    "aes",
)
VM_CPU_FLAGS = re.compile(rf"[+-](?:{'|'.join(CPU_FLAGS)})(?:;[+-](?:{'|'.join(CPU_FLAGS)}))*")
CPU_MODELS = re.compile(
    r"host|kvm32|kvm64|qemu32|qemu64|max|x86-64-v[234](?:-AES)?|custom-[\w.-]+|486|pentium[23]?"
    r"|coreduo|core2duo|athlon|phenom|Opteron_G[1-5]|(?:Conroe|Penryn|Nehalem|Westmere|SandyBridge"
    r"|IvyBridge|Haswell|Broadwell|Skylake|Cascadelake|Cooperlake|Icelake|SapphireRapids"
    r"|GraniteRapids|KnightsMill|EPYC)[\w-]*"
)
CPU: Mapping[str, Any] = {
    "cputype": {"type": "string", "default_key": 1, "optional": 1},
    "reported-model": {"type": "string", "optional": 1},
    "hidden": {"type": "boolean", "optional": 1},
    "hv-vendor-id": {"type": "string", "pattern": "[a-zA-Z0-9]{1,12}", "optional": 1},
    "flags": {
        "type": "string",
        "pattern": r"[+-][a-zA-Z0-9\-_.]+(?:;[+-][a-zA-Z0-9\-_.]+)*",
        "optional": 1,
    },
    "phys-bits": {"type": "string", "pattern": "host|[89]|[1-5][0-9]|6[0-4]", "optional": 1},
}


def _vm_cpu_conf(text: str) -> Problems:
    problems = check_property_string(CPU, text)
    parsed = dict(
        part.split("=", 1) if "=" in part else ("cputype", part) for part in text.split(",") if part
    )
    if not problems and not parsed.get("cputype"):
        problems.append("CPU is missing cputype")
    elif not problems and not CPU_MODELS.fullmatch(parsed["cputype"]):
        problems.append(f"Built-in cputype {parsed['cputype']!r} is not defined")
    if "flags" in parsed and not VM_CPU_FLAGS.fullmatch(parsed["flags"]):
        problems.append(f"VM-specific CPU flags must be a subset of: {', '.join(CPU_FLAGS)}")
    if "reported-model" in parsed:
        problems.append("Property 'reported-model' not allowed in VM-specific CPU config.")
    return problems


PROPERTY_FORMATS: Mapping[str, Mapping[str, Any]] = {
    "pve-qm-ipconfig": IPCONFIG,
    "pve-qm-cicustom": CICUSTOM,
    "pve-qm-boot": BOOT,
}

RULES: Mapping[str, Rule] = {
    "pve-node": lambda v: bool(re.fullmatch(_LABEL, v)),
    "pve-vmid": lambda v: bool(VMID.fullmatch(v)),
    "pve-configid": lambda v: bool(CONFIGID.fullmatch(v)),
    "pve-storage-id": lambda v: bool(STORAGE_ID.fullmatch(v)),
    "pve-storage-content": lambda v: v in CONTENT_TYPES,
    "pve-bridge-id": lambda v: bool(BRIDGE_ID.fullmatch(v)),
    "pve-iface": lambda v: bool(IFACE.fullmatch(v)),
    "pve-userid": lambda v: bool(USERID.fullmatch(v)),
    "pve-tag": lambda v: bool(TAG.fullmatch(v)),
    "pve-volume-id": _volume_id,
    "pve-volume-id-or-qm-path": lambda v: (
        _volume_id(v) or v in ("none", "cdrom") or v.startswith("/")
    ),
    "dns-name": lambda v: bool(DNS_NAME.fullmatch(v)),
    "urlencoded": lambda v: bool(URLENCODED.fullmatch(v)),
    "disk-size": lambda v: bool(DISK_SIZE.fullmatch(v)),
    "mac-addr": lambda v: bool(UNICAST_MAC.fullmatch(v)),
    "ip": _ip,
    "ipv4": lambda v: _ip(v, 4),
    "ipv6": lambda v: _ip(v, 6),
    "address": _ip,
    "CIDR": lambda v: _ip(v, network=True),
    "CIDRv4": lambda v: _ip(v, 4, network=True),
    "CIDRv6": lambda v: _ip(v, 6, network=True),
    "IPorCIDR": lambda v: _ip(v) or _ip(v, network=True),
    "pve-ipv4-config": lambda v: v in ("dhcp", "manual") or _ip(v, 4, network=True),
    "pve-ipv6-config": lambda v: v in ("dhcp", "auto", "manual") or _ip(v, 6, network=True),
    "pve-fw-dport-spec": _port_spec,
    "pve-fw-sport-spec": _port_spec,
    "pve-fw-addr-spec": _addr_spec,
    "pve-fw-protocol-spec": _port_or_name,
    "pve-fw-icmp-type-spec": _port_or_name,
}


def check_format(name: str, value: str) -> Problems:
    """A value against a named format: a rule, a property string, or a list of either."""
    if name == "pve-vm-cpu-conf":
        return _vm_cpu_conf(value)
    if name in PROPERTY_FORMATS:
        return check_property_string(PROPERTY_FORMATS[name], value)
    rule = RULES.get(name)
    if rule is None and name.endswith("-list") and name[: -len("-list")] in RULES:
        inner = RULES[name[: -len("-list")]]
        bad = [item for item in LIST_SEPARATORS.split(value) if item and not inner(item)]
        return [f"{item!r} is not a valid {name[: -len('-list')]}" for item in bad]
    if rule is None:
        return [f"format {name!r} has no rule in tests/pve/formats.py (add one)"]
    return [] if rule(value) else [f"{value!r} is not a valid {name}"]


def check_value(
    schema: Mapping[str, Any], value: str, *, in_property_string: bool = False
) -> Problems:
    """check_prop/check_type: one wire value against its property's schema."""
    kind = schema.get("type", "string")
    if kind == "boolean":
        accepted = (
            (value.lower() in TRUE_WORDS | FALSE_WORDS)
            if in_property_string
            else (value in ("0", "1"))
        )
        return [] if accepted else [f"type check ('boolean') failed - got {value!r}"]
    if kind in ("integer", "number"):
        if not (INTEGER if kind == "integer" else NUMBER).fullmatch(value):
            return [f"type check ({kind!r}) failed - got {value!r}"]
        return _range(schema, float(value))
    return _string(schema, value)


def _range(schema: Mapping[str, Any], number: float) -> Problems:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and number < float(low):
        return [f"value must have a minimum value of {low}"]
    if high is not None and number > float(high):
        return [f"value may have a maximum value of {high}"]
    return []


def _string(schema: Mapping[str, Any], value: str) -> Problems:
    problems: Problems = []
    if "enum" in schema and value not in schema["enum"]:
        return [f"value {value!r} does not have a value in the enumeration {schema['enum']}"]
    if "maxLength" in schema and len(value) > int(schema["maxLength"]):
        problems.append(f"value may only be {schema['maxLength']} characters long")
    if "minLength" in schema and len(value) < int(schema["minLength"]):
        problems.append(f"value must be at least {schema['minLength']} characters long")
    if "pattern" in schema and not perl_pattern(schema["pattern"]).fullmatch(value):
        problems.append(f"value {value!r} does not match the regex pattern")
    fmt = schema.get("format")
    if isinstance(fmt, dict):
        problems += check_property_string(fmt, value)
    elif isinstance(fmt, str):
        problems += check_format(fmt, value)
    return problems


def check_property_string(format_: Mapping[str, Any], text: str) -> Problems:
    """PVE::JSONSchema::parse_property_string, then check_object over the parsed keys."""
    parsed, problems = _parse_property_string(format_, text)
    if problems:
        return problems
    for key, schema in format_.items():
        if key not in parsed and not _optional(schema) and "alias" not in schema:
            problems.append(f"property {key!r} is missing")
    for key, value in parsed.items():
        schema = format_[key]
        required = schema.get("requires")
        if required and required not in parsed:
            problems.append(f"{key}: requires {required!r}")
        problems += [f"{key}: {p}" for p in check_value(schema, value, in_property_string=True)]
    return problems


def _parse_property_string(
    format_: Mapping[str, Any], text: str
) -> tuple[dict[str, str], Problems]:
    default_key = next((k for k, s in format_.items() if s.get("default_key")), None)
    parsed: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, value = _key_value(part, default_key)
        if key is None:
            return parsed, [f"{part!r}: missing key in comma-separated list property"]
        schema = format_.get(key)
        if schema is not None and "alias" in schema:
            if "keyAlias" in schema:
                if schema["keyAlias"] in parsed:
                    return parsed, [f"key alias {schema['keyAlias']!r} is already defined"]
                parsed[schema["keyAlias"]] = key
            key = schema["alias"]
        if key not in format_:
            return parsed, [f"invalid key in comma-separated list property: {key}"]
        if key in parsed:
            return parsed, [f"duplicate key in comma-separated list property: {key}"]
        parsed[key] = value
    return parsed, []


def _key_value(part: str, default_key: str | None) -> tuple[str | None, str]:
    found = re.fullmatch(r"([^=]+)=(.+)", part, re.DOTALL)
    if found:
        return found.group(1), found.group(2)
    if "=" not in part and default_key is not None:
        return default_key, part
    return None, part


def _optional(schema: Mapping[str, Any]) -> bool:
    return str(schema.get("optional", 0)) == "1"
