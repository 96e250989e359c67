"""Server-rendered pages (issue 5): zh-CN by default with an English switch, every asset served
from this service (no CDN), usable on a phone."""
