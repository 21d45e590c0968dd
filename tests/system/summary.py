# SPDX-License-Identifier: GPL-2.0-or-later
"""Print "N passed, N failed" over the JUnit XML files in DIR (every
test case of ./tdx-emu test); a skipped case counts as failed, as no
test may go missing quietly. Exit status 1 if any failed."""

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def main(results):
    passed = failed = 0
    for xml in sorted(Path(results).glob("*.xml")):
        for case in ET.parse(xml).iter("testcase"):
            bad = any(case.find(t) is not None
                      for t in ("failure", "error", "skipped"))
            failed += bad
            passed += not bad
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
