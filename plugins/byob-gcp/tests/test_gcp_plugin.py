"""The plugin's registration: its provider spec, and a cheap import."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from importlib import metadata

from byob_gcp.plugin import byob_providers


class TestRegistration:
    def test_entry_point_names_the_plugin_module(self) -> None:
        eps = [ep for ep in metadata.entry_points(group="byob") if ep.name == "gcp"]
        assert [ep.value for ep in eps] == ["byob_gcp.plugin"]

    def test_provider_spec(self) -> None:
        (spec,) = byob_providers()
        assert spec.name == "gcp"
        assert tuple(spec.schemes) == ("gs",)
        assert spec.max_expiry == dt.timedelta(days=7)
        assert spec.versions and spec.multipart and spec.can_sign
        assert spec.user_param == "X-User"
        assert spec.gc_batch_size == 100

    def test_importing_the_plugin_imports_no_cloud_sdk(self) -> None:
        code = (
            "import sys, json, byob_gcp.plugin\n"
            "heavy = ('gcsfs', 'google', 'botocore', 'boto3', 's3fs', 'adlfs', 'azure', 'cryptography')\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert json.loads(out.stdout) == []
