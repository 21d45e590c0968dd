#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""./tdx-emu inspect IMAGE: the TDVF sections and MRTD of a firmware image.

The image is parsed by the tdx-emu device itself (a paused QEMU, no guest
code runs), so what this prints is what a TD booted from it would get.
Prints one JSON object: {"sections": [...], "mrtd": "<96 hex digits>",
"payload": {"image_offset", "elf_entry", "size"} or null, "cfv": ...},
payload being the ELF the device found in the Payload section
(docs/debugging.md), cfv the files of the CFV section (what
./tdx-emu enroll wrote, migtd/enroll.py): {"files": [{"guid", "name",
"type", "size", "sha384"[, "subject"]}]}, {"error": "..."} when it is not
a firmware volume MigTD could read, or null without a CFV section, and
td_params what the TdParams section's TD_PARAMS asks for: {"attributes",
"xfam", "max_vcpus", "gpaw"}, or null without a filled-in one (the device
is started with that GPAW).
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "migtd"))
from qmp import Qemu, QmpError  # noqa: E402
from enroll import EnrollError, describe_cfv  # noqa: E402
from tdparams import td_params  # noqa: E402

FIELDS = ("data-offset", "raw-size", "address", "size", "type", "name",
          "attributes")


def inspect(qemu, image):
    with open(image, "rb") as f:
        params = td_params(f.read())
    gpaw = params["gpaw"] if params else 48
    vm = Qemu(qemu, ["-machine", "q35", "-accel", "qtest", "-m", "2G",
                     "-cpu", f"max,phys-bits={gpaw},vendor=GenuineIntel",
                     "-nodefaults", "-display", "none", "-S", "-bios", image,
                     "-device", f"tdx-emu,gpaw={gpaw}"])
    try:
        info = vm.command("query-tdx-emu")
    finally:
        vm.quit()
    if not info["firmware-sections"]:
        raise QmpError(f"{image} has no TDVF metadata")
    sections = [{f.replace("-", "_"): s[f] for f in FIELDS}
                for s in info["firmware-sections"]]
    payload = info.get("payload")
    if payload:
        payload = {f.replace("-", "_"): payload[f]
                   for f in ("image-offset", "elf-entry", "size")}
    return {"sections": sections, "mrtd": info["mrtd"], "payload": payload,
            "cfv": cfv_files(image, sections), "td_params": params}


def cfv_files(image, sections):
    cfv = [s for s in sections if s["name"] == "CFV"]
    if not cfv:
        return None
    with open(image, "rb") as f:
        f.seek(cfv[0]["data_offset"])
        data = f.read(cfv[0]["raw_size"])
    try:
        return {"files": describe_cfv(data)}
    except EnrollError as err:
        return {"error": str(err)}


def main():
    if len(sys.argv) != 3:
        print("usage: inspect-image.py QEMU IMAGE", file=sys.stderr)
        return 2
    try:
        print(json.dumps(inspect(sys.argv[1], sys.argv[2])))
    except (QmpError, OSError) as err:
        print(f"tdx-emu inspect: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
