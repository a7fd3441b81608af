"""WeCom's provider API beyond what the laptop uses: ``corpid_to_opencorpid``.

The companion app's callbacks name an enterprise by its open corpid (a third-party app never sees
the plain one), while a device's binding (get_device_auth_info) names the plain corpid the laptop
then asks C3 about. C3 answers for either: a plain corpid it has not seen is converted once and the
pair is kept in the ``corp_ids`` table (watch.py ``learn_open_corpid``).
"""

from __future__ import annotations

from installer_app.provider.wecom import WecomClient


class ServerWecomClient(WecomClient):
    def corpid_to_opencorpid(self, corpid: str) -> str:
        data = self._call("/cgi-bin/service/corpid_to_opencorpid", {"corpid": corpid})
        value = data.get("open_corpid")
        if not isinstance(value, str) or not value:
            raise self._bad_answer()
        return value
