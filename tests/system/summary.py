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
    # tests/run.sh's checks not converted yet: its last line
    for log in sorted(Path(results).glob("*.counts")):
        last = log.read_text().strip().splitlines()[-1:] or ["0 passed, 1 failed"]
        words = last[0].split()
        if len(words) == 4 and words[1] == "passed,":
            passed += int(words[0])
            failed += int(words[2])
        else:
            failed += 1
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
