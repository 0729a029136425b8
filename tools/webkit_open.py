#!/usr/bin/python3
"""Opens a URL in WebKitGTK (Safari's engine, as the corpus recorded it), waits, and prints the
page's text and the engine's version: how the labs (`tools/retry_lab.py`, `h2_retry_lab.py`,
`revalidate_lab.py`) were run in WebKit.

usage (Debian: apt install libwebkit2gtk-4.1-0 gir1.2-webkit2-4.1 python3-gi xvfb; the
system Python, which has `gi`):

    [LAB_TLS=1 SSLKEYLOGFILE=KEYLOG] xvfb-run -a /usr/bin/python3 tools/webkit_open.py URL [SECONDS]

`LAB_TLS=1` accepts the labs' self-signed certificates (GnuTLS writes the key log itself).
`LAB_PROXY=http://127.0.0.1:8482` sends every request through that proxy (`tools/proxy_lab.py`)
and answers its challenges with `u:p` (printing `AUTH` when asked). Each run has a fresh data
and cache folder. Console messages (WebKit's CORS errors) go to stdout.
"""
import os
import sys
import tempfile

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("WebKit2", "4.1")
from gi.repository import GLib, Gtk, WebKit2  # noqa: E402


def main():
    url = sys.argv[1]
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 5.0
    d = tempfile.mkdtemp()
    mgr = WebKit2.WebsiteDataManager(
        base_data_directory=d + "/data", base_cache_directory=d + "/cache"
    )
    if os.environ.get("LAB_TLS"):
        mgr.set_tls_errors_policy(WebKit2.TLSErrorsPolicy.IGNORE)
    proxy = os.environ.get("LAB_PROXY")
    if proxy:
        settings_p = WebKit2.NetworkProxySettings.new(proxy, [])
        mgr.set_network_proxy_settings(WebKit2.NetworkProxyMode.CUSTOM, settings_p)
    ctx = WebKit2.WebContext(website_data_manager=mgr)
    ctx.set_cache_model(WebKit2.CacheModel.WEB_BROWSER)
    settings = WebKit2.Settings()
    settings.set_enable_write_console_messages_to_stdout(True)
    view = WebKit2.WebView(web_context=ctx, settings=settings)

    def authenticate(_view, request):
        print("AUTH proxy=%s" % request.is_for_proxy(), flush=True)
        cred = WebKit2.Credential.new("u", "p", WebKit2.CredentialPersistence.FOR_SESSION)
        request.authenticate(cred)
        return True

    view.connect("authenticate", authenticate)
    win = Gtk.Window()
    win.add(view)
    win.show_all()
    view.load_uri(url)

    def got(v, res):
        try:
            print("BODY:", v.run_javascript_finish(res).get_js_value().to_string())
        except GLib.Error as e:
            print("ERROR:", e)
        print(
            "WebKitGTK %d.%d.%d"
            % (WebKit2.get_major_version(), WebKit2.get_minor_version(), WebKit2.get_micro_version()),
            settings.get_user_agent(),
        )
        Gtk.main_quit()

    def done():
        view.run_javascript("document.body.innerText", None, got)
        return False

    GLib.timeout_add(int(secs * 1000), done)
    Gtk.main()


if __name__ == "__main__":
    main()
