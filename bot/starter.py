"""The commented starter configuration ``crossdesk init`` writes."""

STARTER_CONFIG = """\
# CrossDesk configuration. Every key is optional; the values shown are the defaults.
# Secrets never go in this file: set them as environment variables, e.g.
#   CROSSDESK_TELEGRAM__TOKEN, CROSSDESK_TELEGRAM__WEBHOOK_SECRET,
#   CROSSDESK_SLACK__BOT_TOKEN, CROSSDESK_SLACK__SIGNING_SECRET, CROSSDESK_SLACK__APP_TOKEN,
#   CROSSDESK_TRANSLATION__API_KEY
# Any other key can be overridden the same way: CROSSDESK_<SECTION>__<KEY>.

[store]
url = "sqlite:///crossdesk.db"          # or "postgresql+psycopg://user@host/dbname"

[support]
shop_name = "Northwind Goods"
support_email = "support@northwind.example"
languages = ["en", "es", "fr", "de", "it", "pt", "ru", "ja", "zh", "ar"]
default_language = "en"                  # answer language when nothing else is known
staff_language = "zh"                    # staff read customers' messages in this language
language_detector = "lingua"             # or "langdetect"
# knowledge_base = "path/to/kb"          # folder with faq/, lexicon/, locales/ (default: demo)
timezone = "Europe/Berlin"               # support hours are in this time zone
hours_start = "09:00:00"
hours_end = "18:00:00"
workdays = [0, 1, 2, 3, 4]               # 0 = Monday
sla_minutes = { urgent = 15, high = 30, normal = 120 }

[telegram]
mode = "polling"                         # or "webhook" (needs webhook_url and the secret)
# webhook_url = "https://bot.example.com/telegram"
# staff_chat_id = -1001234567890         # the staff group
# staff_user_ids = [12345678]
rate_limit = true                        # false only for a self-hosted Bot API server
# proxy = "http://127.0.0.1:7890"        # where api.telegram.org is only reachable by proxy
transport = "aiohttp"                    # or "httpx" (for SOCKS proxies, with httpx[socks])

[slack]
# staff_channel = "C0123456789"
# customer_channels = []
port = 3000

[translation]
provider = "none"                        # none | google | deepl | libre | mymemory | microsoft
# url = "http://localhost:5000/"         # LibreTranslate server (provider = "libre")
timeout = 3.0

[alerts]
handling_days = 3
grace_days = 2
stale_scan_days = 5
repeat_interval_minutes = 240
"""
