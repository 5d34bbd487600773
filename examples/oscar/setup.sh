#!/usr/bin/env bash
# setup.sh - build a self-contained django-oscar 4.2.1 storefront (sqlite) under $OSCAR_HOME.
#
# Idempotent: safe to re-run; it only installs what is missing, re-writes the
# project files, applies pending migrations, (re)creates the demo catalogue
# with get_or_create semantics and brings the product search index up to date.
#
# Env:
#   OSCAR_HOME   where everything goes (default .oscar/ at the repository root)
#   PYTHON       interpreter used to create the venv (default python3, needs >= 3.10)
#   OSCAR_PORT   only used to set the Site domain (default 8000)
set -euo pipefail

T0=$(date +%s.%N)
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }
# The default home is .oscar/ at the repository root, whatever the working
# directory. A relative OSCAR_HOME is resolved against the working directory.
KIT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$KIT_DIR/../.." && pwd)"
OSCAR_HOME="$(realpath -m "${OSCAR_HOME:-$REPO_ROOT/.oscar}")"
PYTHON="${PYTHON:-python3}"
PORT="${OSCAR_PORT:-8000}"
VENV="$OSCAR_HOME/venv"
PROJ="$OSCAR_HOME/project"
VAR="$OSCAR_HOME/var"

log() { printf '[setup %6ss] %s\n' "$(elapsed)" "$*"; }

mkdir -p "$OSCAR_HOME" "$PROJ/shop" "$VAR/media" "$VAR/static" "$VAR/mail"
log "OSCAR_HOME=$OSCAR_HOME"

# ---------------------------------------------------------------- 1. venv + pip
"$PYTHON" - <<'EOF'
import sys
if sys.version_info < (3, 10):
    sys.exit("python >= 3.10 is required (Django 5.2), found %s" % sys.version.split()[0])
EOF

# Exact versions that were installed and tested together (2 cores, Python 3.11).
cat > "$OSCAR_HOME/requirements.txt" <<'EOF'
django-oscar[sorl-thumbnail]==4.2.1
Django==5.2.19
sorl-thumbnail==12.11.0
pillow==13.0.0
gunicorn==27.0.1
Whoosh==2.7.4
asgiref==3.13.0
babel==2.19.0
django-extra-views==0.16.0
django-haystack==3.4.0
django-phonenumber-field==8.5.0
django-tables2==2.7.0
django-treebeard==7.0.3
django-widget-tweaks==1.5.1
factory_boy==3.3.3
Faker==40.63.0
packaging==26.4
phonenumbers==9.0.43
purl==1.6
six==1.17.0
sqlparse==0.6.1
EOF

if [ ! -x "$VENV/bin/python" ]; then
  log "creating venv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
if ! cmp -s "$OSCAR_HOME/requirements.txt" "$VENV/.kit-requirements" 2>/dev/null; then
  log "pip install (django-oscar 4.2.1 + deps)"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r "$OSCAR_HOME/requirements.txt"
  cp "$OSCAR_HOME/requirements.txt" "$VENV/.kit-requirements"
else
  log "pip: requirements already installed"
fi

# Secret key: generated once, kept across re-runs (sessions stay valid).
if [ ! -s "$VAR/secret_key" ]; then
  "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(50))' > "$VAR/secret_key"
fi

# ---------------------------------------------------------------- 2. project files
log "writing Django project to $PROJ"

cat > "$PROJ/manage.py" <<'EOF'
#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
EOF
chmod +x "$PROJ/manage.py"

: > "$PROJ/shop/__init__.py"

cat > "$PROJ/shop/wsgi.py" <<'EOF'
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
application = get_wsgi_application()
EOF

cat > "$PROJ/shop/settings.py" <<'EOF'
"""Minimal django-oscar 4.2 project, following Oscar's "Building your own shop" guide.

Runtime knobs (environment variables, read at server start):
  OSCAR_DEBUG=1                      Django DEBUG (default off: real 404/500 pages)
  OSCAR_ALLOWED_HOSTS=a,b            default "*" (any Host header a proxy may send)
  OSCAR_CSRF_TRUSTED_ORIGINS=u1,u2   e.g. http://127.0.0.1:9000 when a proxy on another
                                     port forwards the browser's Origin header unchanged
  OSCAR_USE_X_FORWARDED_HOST=1       trust X-Forwarded-Host (default off)
  OSCAR_ALLOW_ANON_CHECKOUT=0        guest checkout (default on)
"""
import os
import warnings
from pathlib import Path

from oscar.defaults import *  # noqa: F401,F403  (Oscar's default settings)

BASE_DIR = Path(__file__).resolve().parent.parent          # $OSCAR_HOME/project
VAR_DIR = BASE_DIR.parent / "var"                           # $OSCAR_HOME/var


def _env_list(name, default=""):
    return [v.strip() for v in os.environ.get(name, default).split(",") if v.strip()]


SECRET_KEY = (VAR_DIR / "secret_key").read_text().strip()
DEBUG = os.environ.get("OSCAR_DEBUG", "0") == "1"
ALLOWED_HOSTS = _env_list("OSCAR_ALLOWED_HOSTS", "*")
CSRF_TRUSTED_ORIGINS = _env_list("OSCAR_CSRF_TRUSTED_ORIGINS")
USE_X_FORWARDED_HOST = os.environ.get("OSCAR_USE_X_FORWARDED_HOST", "0") == "1"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.flatpages",
    "oscar.config.Shop",
    "oscar.apps.analytics.apps.AnalyticsConfig",
    "oscar.apps.checkout.apps.CheckoutConfig",
    "oscar.apps.address.apps.AddressConfig",
    "oscar.apps.shipping.apps.ShippingConfig",
    "oscar.apps.catalogue.apps.CatalogueConfig",
    "oscar.apps.catalogue.reviews.apps.CatalogueReviewsConfig",
    "oscar.apps.communication.apps.CommunicationConfig",
    "oscar.apps.partner.apps.PartnerConfig",
    "oscar.apps.basket.apps.BasketConfig",
    "oscar.apps.payment.apps.PaymentConfig",
    "oscar.apps.offer.apps.OfferConfig",
    "oscar.apps.order.apps.OrderConfig",
    "oscar.apps.customer.apps.CustomerConfig",
    "oscar.apps.search.apps.SearchConfig",
    "oscar.apps.voucher.apps.VoucherConfig",
    "oscar.apps.wishlists.apps.WishlistsConfig",
    "oscar.apps.dashboard.apps.DashboardConfig",
    "oscar.apps.dashboard.reports.apps.ReportsDashboardConfig",
    "oscar.apps.dashboard.users.apps.UsersDashboardConfig",
    "oscar.apps.dashboard.orders.apps.OrdersDashboardConfig",
    "oscar.apps.dashboard.catalogue.apps.CatalogueDashboardConfig",
    "oscar.apps.dashboard.offers.apps.OffersDashboardConfig",
    "oscar.apps.dashboard.partners.apps.PartnersDashboardConfig",
    "oscar.apps.dashboard.pages.apps.PagesDashboardConfig",
    "oscar.apps.dashboard.ranges.apps.RangesDashboardConfig",
    "oscar.apps.dashboard.reviews.apps.ReviewsDashboardConfig",
    "oscar.apps.dashboard.vouchers.apps.VouchersDashboardConfig",
    "oscar.apps.dashboard.communications.apps.CommunicationsDashboardConfig",
    "oscar.apps.dashboard.shipping.apps.ShippingDashboardConfig",
    # 3rd-party apps that Oscar depends on
    "widget_tweaks",
    "haystack",
    "treebeard",
    "sorl.thumbnail",  # default OSCAR_THUMBNAILER
    "django_tables2",
]
SITE_ID = 1

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "oscar.apps.basket.middleware.BasketMiddleware",
    "django.contrib.flatpages.middleware.FlatpageFallbackMiddleware",
]

ROOT_URLCONF = "shop.urls"
WSGI_APPLICATION = "shop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.template.context_processors.i18n",
                "django.contrib.messages.context_processors.messages",
                "oscar.apps.search.context_processors.search_form",
                "oscar.apps.checkout.context_processors.checkout",
                "oscar.apps.communication.notifications.context_processors.notifications",
                "oscar.core.context_processors.metadata",
            ],
        },
    },
]

AUTHENTICATION_BACKENDS = (
    "oscar.apps.customer.auth_backends.EmailBackend",
    "django.contrib.auth.backends.ModelBackend",
)
LOGIN_REDIRECT_URL = "/accounts/profile/"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(VAR_DIR / "db.sqlite3"),
        "ATOMIC_REQUESTS": True,
        "OPTIONS": {
            # several server threads/processes share one sqlite file
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

# Oscar's catalogue page, category pages and search all query Haystack (facets plus
# is_public/structure/category filters). Haystack's SimpleEngine cannot answer those
# browse queries (the listings stay empty), so use Whoosh: pure Python, an index on
# disk, the engine of Oscar's own sandbox and test settings. setup.sh fills the index
# (manage.py update_index); Oscar's default RealtimeSignalProcessor re-indexes a
# product whenever it is saved (dashboard edits, new reviews).
HAYSTACK_SIGNAL_PROCESSOR = "haystack.signals.RealtimeSignalProcessor"
HAYSTACK_CONNECTIONS = {
    "default": {
        "ENGINE": "haystack.backends.whoosh_backend.WhooshEngine",
        "PATH": str(VAR_DIR / "whoosh_index"),
    },
}
# Whoosh has no query facets, so Oscar leaves out its price-range facet; haystack
# still warns about it on the first listing of each server process. Keep logs clean.
warnings.filterwarnings("ignore", message="Whoosh does not handle query faceting")

LANGUAGE_CODE = "en-gb"
LANGUAGES = [("en-gb", "English"), ("de", "Deutsch")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = str(VAR_DIR / "static")
MEDIA_URL = "/media/"
MEDIA_ROOT = str(VAR_DIR / "media")

# Outgoing mail (registration / order confirmation / password reset) is written
# to files instead of being sent.
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = str(VAR_DIR / "mail")

# --- Oscar
OSCAR_SHOP_NAME = "Oscar Test Shop"
OSCAR_SHOP_TAGLINE = "kit"
OSCAR_DEFAULT_CURRENCY = "GBP"
OSCAR_ALLOW_ANON_CHECKOUT = os.environ.get("OSCAR_ALLOW_ANON_CHECKOUT", "1") == "1"
OSCAR_FROM_EMAIL = "shop@example.com"
OSCAR_INITIAL_ORDER_STATUS = "Pending"
OSCAR_INITIAL_LINE_STATUS = "Pending"
OSCAR_ORDER_STATUS_PIPELINE = {
    "Pending": ("Being processed", "Cancelled"),
    "Being processed": ("Processed", "Cancelled"),
    "Cancelled": (),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django.request": {"handlers": ["console"], "level": "ERROR"}},
}
EOF

cat > "$PROJ/shop/urls.py" <<'EOF'
from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve

urlpatterns = [
    # needed because LANGUAGES has more than one entry (language selector form)
    path("i18n/", include("django.conf.urls.i18n")),
    # The Django admin is not officially supported by Oscar; handy for debugging.
    path("admin/", admin.site.urls),
    # Static files (collected into STATIC_ROOT) and uploaded media are served by
    # Django itself, independent of DEBUG, so the kit works under gunicorn too.
    re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT}),
    re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT}),
    path("", include(apps.get_app_config("oscar").urls[0])),
]

# Oscar's branded error pages (used when DEBUG is off)
handler403 = "oscar.views.handler403"
handler404 = "oscar.views.handler404"
handler500 = "oscar.views.handler500"
EOF

cat > "$PROJ/seed_shop.py" <<'EOF'
"""Create the demo catalogue, countries, site, users. Idempotent."""
import io
import json
import os
import shutil
import sys
from decimal import Decimal
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shop.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.flatpages.models import FlatPage  # noqa: E402
from django.contrib.sites.models import Site  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402
from django.db import transaction  # noqa: E402

from oscar.apps.catalogue.categories import create_from_breadcrumbs  # noqa: E402
from oscar.core.loading import get_model  # noqa: E402

Product = get_model("catalogue", "Product")
ProductClass = get_model("catalogue", "ProductClass")
ProductCategory = get_model("catalogue", "ProductCategory")
ProductImage = get_model("catalogue", "ProductImage")
Partner = get_model("partner", "Partner")
StockRecord = get_model("partner", "StockRecord")
Country = get_model("address", "Country")

PRODUCTS = [
    # upc, title, category, price, stock
    ("KIT-BOOK-1", "The Django Book", "Books", "19.99", 100),
    ("KIT-BOOK-2", "Python Cookbook", "Books", "34.50", 100),
    ("KIT-BOOK-3", "Clean Architecture", "Books", "27.00", 100),
    ("KIT-GADG-1", "USB-C Cable", "Gadgets", "9.99", 100),
    ("KIT-GADG-2", "Wireless Mouse", "Gadgets", "24.95", 100),
    ("KIT-GADG-3", "Vintage Typewriter", "Gadgets", "149.00", 0),  # out of stock on purpose
]
COLOURS = ["#3b6ea5", "#a53b3b", "#3ba56e", "#a5893b", "#6e3ba5", "#555555"]
COUNTRIES = [
    ("GB", "GBR", "826", "United Kingdom", "United Kingdom of Great Britain and Northern Ireland"),
    ("US", "USA", "840", "United States", "United States of America"),
    ("DE", "DEU", "276", "Germany", "Federal Republic of Germany"),
]


def product_image(title, colour):
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (400, 400), colour)
    draw = ImageDraw.Draw(img)
    draw.rectangle([20, 20, 379, 379], outline="white", width=4)
    draw.text((40, 190), title, fill="white")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=80)
    return buf.getvalue()


@transaction.atomic
def main():
    domain = os.environ.get("OSCAR_SITE_DOMAIN") or "127.0.0.1:%s" % os.environ.get("OSCAR_PORT", "8000")
    Site.objects.update_or_create(pk=settings.SITE_ID, defaults={"domain": domain, "name": settings.OSCAR_SHOP_NAME})

    for a2, a3, num, printable, name in COUNTRIES:
        Country.objects.update_or_create(
            iso_3166_1_a2=a2,
            defaults=dict(iso_3166_1_a3=a3, iso_3166_1_numeric=num, printable_name=printable,
                          name=name, is_shipping_country=True),
        )

    # "Image not found" placeholder must live in MEDIA_ROOT (sorl resizes it)
    missing = Path(settings.MEDIA_ROOT) / settings.OSCAR_MISSING_IMAGE_URL
    if not missing.exists():
        import oscar
        shutil.copy(Path(oscar.__file__).parent / "static/oscar/img/image_not_found.jpg", missing)

    pclass, _ = ProductClass.objects.get_or_create(
        name="Item", defaults={"requires_shipping": True, "track_stock": True})
    partner, _ = Partner.objects.get_or_create(name="Kit Warehouse")

    catalogue = []
    for i, (upc, title, cat, price, stock) in enumerate(PRODUCTS):
        category = create_from_breadcrumbs(cat)
        product, created = Product.objects.get_or_create(
            upc=upc, defaults={"title": title, "product_class": pclass, "structure": "standalone",
                               "is_public": True, "description": "<p>%s - demo product of the Oscar test kit.</p>" % title})
        ProductCategory.objects.get_or_create(product=product, category=category)
        sr, _ = StockRecord.objects.get_or_create(
            product=product, partner=partner,
            defaults={"partner_sku": upc, "price_currency": settings.OSCAR_DEFAULT_CURRENCY,
                      "price": Decimal(price), "num_in_stock": stock})
        if not product.images.exists():
            ProductImage.objects.create(
                product=product, caption=title, display_order=0,
                original=ContentFile(product_image(title, COLOURS[i % len(COLOURS)]), name="%s.jpg" % upc.lower()))
        catalogue.append({
            "id": product.pk, "upc": upc, "title": product.title, "category": cat,
            "category_url": category.get_absolute_url(), "url": product.get_absolute_url(),
            "basket_add_url": "/basket/add/%d/" % product.pk, "price": str(sr.price),
            "currency": sr.price_currency, "num_in_stock": sr.num_in_stock,
        })

    fp, _ = FlatPage.objects.get_or_create(
        url="/about/", defaults={"title": "About this shop",
                                 "content": "<p>A django-oscar storefront used as a reverse-proxy test backend.</p>"})
    fp.sites.add(Site.objects.get(pk=settings.SITE_ID))

    User = get_user_model()
    users = [("admin", "admin@example.com", "AdminPass-123", True),
             ("customer", "customer@example.com", "CustomerPass-123", False)]
    for username, email, password, staff in users:
        u, created = User.objects.get_or_create(username=username, defaults={"email": email})
        if created:
            u.set_password(password)
            u.is_staff = u.is_superuser = staff
            u.save()

    out = Path(settings.MEDIA_ROOT).parent / "catalogue.json"
    out.write_text(json.dumps(catalogue, indent=2))
    for p in catalogue:
        print("  #%(id)d %(title)-20s %(currency)s %(price)7s stock=%(num_in_stock)-3d %(url)s" % p)
    print("  catalogue written to", out)


main()
EOF

# ---------------------------------------------------------------- 3. database + static + data
cd "$PROJ"
PY="$VENV/bin/python"
log "manage.py migrate"
"$PY" manage.py migrate --noinput -v0
log "manage.py collectstatic"
"$PY" manage.py collectstatic --noinput -v0
log "seeding catalogue / countries / users"
"$PY" seed_shop.py
# Index all products for the catalogue/category/search pages. update_index
# re-indexes in place, so a running server keeps answering (rebuild_index would
# first delete the whole index directory); --remove drops products no longer in the DB.
log "manage.py update_index (Whoosh index in $VAR/whoosh_index)"
"$PY" manage.py update_index --remove -v0
log "manage.py check"
"$PY" manage.py check
log "done: setup took $(elapsed)s; start with: OSCAR_HOME=$OSCAR_HOME $KIT_DIR/run.sh"
