"""Registration, cheap import, and the demo's local S3 endpoint."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

from byob_core.plugins import PluginHost


class TestRegistration:
    def test_two_providers_with_their_limits(self):
        host = PluginHost.load()
        for name, scheme in (("minio", "s3"), ("coreweave", "cw")):
            spec = host.spec(name)
            assert host.owner(name) == "minio"
            assert spec.schemes == (scheme,)
            assert spec.max_expiry == dt.timedelta(days=7)
            assert (spec.gc_batch_size, spec.versions, spec.multipart) == (1000, True, True)
            assert spec.user_param == "X-User"

    def test_importing_the_plugin_imports_no_cloud_sdk(self):
        code = (
            "import sys, json, byob_minio.plugin; "
            "print(json.dumps(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('s3fs', 'boto3', 'botocore', 'aiobotocore', 'moto'))))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        assert json.loads(out) == []


class TestDemoEndpoint:
    def test_local_s3_serves_a_minio_store_through_the_core(self, tmp_path):
        from byob_core import config as config_mod
        from byob_core.api import Byob
        from byob_minio.demo import local_s3

        with local_s3() as s3:
            assert s3.endpoint_url.startswith("http://127.0.0.1:")
            assert s3.credentials.secret_key not in repr(s3)
            config = config_mod.from_mapping(
                {
                    "data_dir": str(tmp_path / "state"),
                    "instance": s3.store_config("byob-demo-instance", subpath="wandb"),
                    "teams": {"omega": s3.store_config("byob-demo-omega", subpath="omega")},
                },
                environ={
                    **os.environ,
                    "GORILLA_SUPPORTED_FILE_STORES": s3.connection_string(
                        "byob-demo-omega", subpath="omega"
                    ),
                },
            )
            byob = Byob(config)
            for team in (None, "omega"):
                byob.provision(team)
                report = byob.validate(team)
                assert report.ok, [(f.check, f.message) for f in report.findings]
            where, full = byob.locate("omega", "runs/o1/model.bin")
            fs = byob.filesystem(where.store)
            fs.pipe_file(where.store.fs_path(full), b"omega")
            assert fs.cat_file(where.store.fs_path(full)) == b"omega"
            endpoint = s3.endpoint_url
        # The server is gone once the block ends.
        import urllib.request

        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=2)  # noqa: S310
        except OSError:
            pass
        else:
            raise AssertionError("the local S3 server still answers after the block")
