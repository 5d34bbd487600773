#!/usr/bin/env bash
# smoke.sh - walk the storefront like a browser user, with curl + a cookie jar.
#
#   BASE=http://127.0.0.1:8000 ./smoke.sh          (BASE may point at a proxy)
#
# Env:
#   BASE          default http://127.0.0.1:${OSCAR_PORT:-8000}
#   SMOKE_EMAIL   user to register (default jane@example.com; if that address is
#                 already registered, jane.<epoch>@example.com is used instead)
#   SMOKE_ORIGIN  1 (default) = send "Origin: $BASE" on POSTs like a browser does
#   SMOKE_VERBOSE 1 = also print all response headers
#   SMOKE_USER_AGENT  User-Agent header to send (default: curl's own). A proxy
#                 that skips bots treats curl's default as one, so set a
#                 browser's to have the walk tracked.
# Prints one line per request and ends with "N passed, N failed"; exit 1 on failure.
set -uo pipefail

BASE="${BASE:-http://127.0.0.1:${OSCAR_PORT:-8000}}"
BASE="${BASE%/}"
EMAIL="${SMOKE_EMAIL:-jane@example.com}"
PASSWORD="Jane-Secret-987"
W="$(mktemp -d /tmp/oscar-smoke.XXXXXX)"
JAR="$W/jar"
PASS=0; FAIL=0; STEP=0
T_START=$(date +%s.%N)

BODY="$W/body.html"; HDRS="$W/headers.txt"
LAST_URL=""

hdr() { grep -i "^$1:" "$HDRS" | head -1 | sed "s/^[^:]*: *//" | tr -d '\r'; }
cookies_set() { grep -i '^set-cookie:' "$HDRS" | sed 's/^[^:]*: *//; s/=.*//' | paste -sd, -; }
csrf() { grep -o 'name="csrfmiddlewaretoken" value="[^"]*"' "$BODY" | head -1 | sed 's/.*value="//; s/"$//'; }
body_has() { grep -q -- "$1" "$BODY"; }

# req NAME METHOD PATH EXPECT_STATUS [EXPECT_LOCATION_PREFIX] [-- curl args...]
req() {
  local name=$1 method=$2 path=$3 expect=$4 eloc="" ; shift 4
  if [ $# -gt 0 ] && [ "$1" != "--" ]; then eloc=$1; shift; fi
  [ "${1:-}" = "--" ] && shift
  local args=(-s -o "$BODY" -D "$HDRS" -b "$JAR" -c "$JAR" -w '%{http_code} %{time_total}')
  [ -n "${SMOKE_USER_AGENT:-}" ] && args+=(-A "$SMOKE_USER_AGENT")
  if [ "$method" = POST ]; then
    args+=(-X POST)
    [ -n "$LAST_URL" ] && args+=(-e "$LAST_URL")
    [ "${SMOKE_ORIGIN:-1}" = 1 ] && args+=(-H "Origin: $BASE")
  fi
  STEP=$((STEP + 1))
  local out code t loc sc ok=1
  : > "$BODY"; : > "$HDRS"
  out=$(curl "${args[@]}" "$@" "$BASE$path") || out="000 0"
  code=${out%% *}; t=${out##* }
  loc=$(hdr location); sc=$(cookies_set)
  [ "$code" = "$expect" ] || ok=0
  if [ -n "$eloc" ] && [[ "$loc" != "$eloc"* && "$loc" != "$BASE$eloc"* ]]; then ok=0; fi
  if [ $ok = 1 ]; then PASS=$((PASS + 1)); tag="ok  "; else FAIL=$((FAIL + 1)); tag="FAIL"; fi
  printf '[%s] %02d %-26s %-4s %-38s -> %s%s%s (%.3fs)%s\n' "$tag" "$STEP" "$name" "$method" "$path" "$code" \
    "${loc:+ Location: $loc}" "${sc:+ Set-Cookie: $sc}" "$t" \
    "$([ $ok = 0 ] && echo "   expected $expect${eloc:+ -> $eloc}")"
  [ "${SMOKE_VERBOSE:-0}" = 1 ] && sed 's/^/        /' "$HDRS"
  [ "$method" = GET ] && [ "$code" = 200 ] && LAST_URL="$BASE$path"
  return $((1 - ok))
}
check() { # NAME CONDITION-DESCRIPTION  (uses $? of the previous command)
  if [ "$1" = 0 ]; then PASS=$((PASS + 1)); printf '[ok  ]    check: %s\n' "$2"
  else FAIL=$((FAIL + 1)); printf '[FAIL]    check: %s\n' "$2"; fi
}

echo "smoke test against $BASE (work dir $W)"
: > "$BODY"; : > "$HDRS"
if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$BASE/catalogue/")" = 000 ]; then
  echo "cannot reach $BASE/catalogue/ - is run.sh running?"; rm -rf "$W"; echo "0 passed, 1 failed"; exit 2
fi

# ---------------------------------------------------------------- browse
req home                GET  /                                  302 /catalogue/
req catalogue           GET  /catalogue/                         200
req category            GET  /catalogue/category/books_1/        200
req product             GET  /catalogue/the-django-book_1/       200
body_has 'id="add_to_basket_form"'; check $? "product page has add_to_basket_form (POST /basket/add/1/)"
req product-image       GET  "$(grep -o '/media/cache/[^"]*\.jpg' "$BODY" | head -1)" 200
req search              GET  "/search/?q=cable"                  200
req static-css          GET  /static/oscar/css/styles.css        200
req flatpage            GET  /about/                             200
req not-found           GET  /no-such-page/                      404

# ---------------------------------------------------------------- register / logout / login
req login-page          GET  /accounts/login/                    200
TOKEN=$(csrf); [ -n "$TOKEN" ]; check $? "csrfmiddlewaretoken found in login form"
reg() {
  echo "           registering $1"
  req register          POST /accounts/login/ "$2" "${3:-}" -- \
    --data-urlencode "csrfmiddlewaretoken=$TOKEN" --data-urlencode "registration-email=$1" \
    --data-urlencode "registration-password1=$PASSWORD" --data-urlencode "registration-password2=$PASSWORD" \
    --data-urlencode "registration-redirect_url=" --data-urlencode "registration_submit=Register"
}
if ! reg "$EMAIL" 302 /accounts/profile/ >"$W/reg.txt"; then
  if body_has "already exists"; then
    sed 's/\[FAIL\]/[info]/' "$W/reg.txt"; FAIL=$((FAIL - 1))
    EMAIL="jane.$(date +%s)@example.com"; TOKEN=$(csrf)
    reg "$EMAIL" 302 /accounts/profile/
  else cat "$W/reg.txt"; fi
else cat "$W/reg.txt"; fi
grep -qi '^set-cookie: *sessionid=' "$HDRS"; check $? "registration logged the user in (Set-Cookie sessionid)"
req profile-logged-in   GET  /accounts/profile/                  200
body_has "$EMAIL"; check $? "profile page shows $EMAIL"
req logout              GET  /accounts/logout/                   302 /catalogue/
grep -qi '^set-cookie: *sessionid=""' "$HDRS"; check $? "logout clears the session cookie (sessionid=\"\"; Max-Age=0)"
req profile-anon        GET  /accounts/profile/                  302 /accounts/login/

req login-page          GET  /accounts/login/                    200
TOKEN=$(csrf)
req login-wrong-pw      POST /accounts/login/                    200 -- \
  --data-urlencode "csrfmiddlewaretoken=$TOKEN" --data-urlencode "login-username=$EMAIL" \
  --data-urlencode "login-password=wrong-password" --data-urlencode "login-redirect_url=" \
  --data-urlencode "login_submit=Log In"
body_has "Please enter a correct username and password"; check $? "failed login: 200 + 'Please enter a correct username and password', no Location"
! grep -qi '^set-cookie: *sessionid=' "$HDRS"; check $? "failed login sets no sessionid cookie"
TOKEN=$(csrf)
req login-ok            POST /accounts/login/                    302 /accounts/profile/ -- \
  --data-urlencode "csrfmiddlewaretoken=$TOKEN" --data-urlencode "login-username=$EMAIL" \
  --data-urlencode "login-password=$PASSWORD" --data-urlencode "login-redirect_url=" \
  --data-urlencode "login_submit=Log In"
grep -qi '^set-cookie: *sessionid=' "$HDRS"; check $? "successful login: 302 Location /accounts/profile/ + Set-Cookie sessionid"

# ---------------------------------------------------------------- basket + checkout (logged in)
req product             GET  /catalogue/the-django-book_1/       200
TOKEN=$(csrf)
req basket-add-no-csrf  POST /basket/add/1/                      403 -- -d quantity=1
req basket-add          POST /basket/add/1/                      302 /catalogue/the-django-book_1/ -- \
  --data-urlencode "csrfmiddlewaretoken=$TOKEN" -d quantity=2
req basket              GET  /basket/                            200
body_has 'name="form-0-quantity" value="2"'; check $? "basket has 2 x The Django Book"
req checkout            GET  /checkout/                          302 /checkout/shipping-address/
req shipping-address    GET  /checkout/shipping-address/         200
TOKEN=$(csrf)
req shipping-address    POST /checkout/shipping-address/         302 /checkout/shipping-method/ -- \
  --data-urlencode "csrfmiddlewaretoken=$TOKEN" -d first_name=Jane -d last_name=Doe \
  --data-urlencode "line1=1 Test Street" -d line4=London --data-urlencode "postcode=SW1A 1AA" \
  -d country=GB -d phone_number= -d notes=
req shipping-method     GET  /checkout/shipping-method/          302 /checkout/payment-method/
req payment-method      GET  /checkout/payment-method/           302 /checkout/payment-details/
req payment-details     GET  /checkout/payment-details/          200
req preview             GET  /checkout/preview/                  200
TOKEN=$(csrf)
req place-order         POST /checkout/preview/                  302 /checkout/thank-you/ -- \
  --data-urlencode "csrfmiddlewaretoken=$TOKEN" -d action=place_order
req thank-you           GET  /checkout/thank-you/                200
ORDER=$(grep -A1 'your order number is' "$BODY" | grep -o '[0-9]\{6,\}' | head -1)
[ -n "$ORDER" ]; check $? "thank-you page shows order number ${ORDER:-?}"
req order-history       GET  /accounts/orders/                   200
body_has "${ORDER:-no-order}"; check $? "order ${ORDER:-?} listed under /accounts/orders/"
req logout              GET  /accounts/logout/                   302 /catalogue/

# ---------------------------------------------------------------- guest checkout (fresh cookie jar)
rm -f "$JAR"; LAST_URL=""
req guest-product       GET  /catalogue/usb-c-cable_4/           200
TOKEN=$(csrf)
req guest-basket-add    POST /basket/add/4/                      302 /catalogue/usb-c-cable_4/ -- \
  --data-urlencode "csrfmiddlewaretoken=$TOKEN" -d quantity=1
grep -qi '^set-cookie: *oscar_open_basket=' "$HDRS"; check $? "anonymous basket cookie oscar_open_basket set"
req guest-gateway       GET  /checkout/                          200
TOKEN=$(csrf)
req guest-gateway       POST /checkout/                          302 /checkout/shipping-address/ -- \
  --data-urlencode "csrfmiddlewaretoken=$TOKEN" -d username=guest@example.com -d options=anonymous -d password=
req guest-ship-addr     GET  /checkout/shipping-address/         200
TOKEN=$(csrf)
req guest-ship-addr     POST /checkout/shipping-address/         302 /checkout/shipping-method/ -- \
  --data-urlencode "csrfmiddlewaretoken=$TOKEN" -d first_name=Gus -d last_name=Guest \
  --data-urlencode "line1=2 Guest Road" -d line4=Leeds --data-urlencode "postcode=LS1 1AA" -d country=GB
req guest-ship-method   GET  /checkout/shipping-method/          302 /checkout/payment-method/
req guest-pay-method    GET  /checkout/payment-method/           302 /checkout/payment-details/
req guest-pay-details   GET  /checkout/payment-details/          200
req guest-preview       GET  /checkout/preview/                  200
TOKEN=$(csrf)
req guest-place-order   POST /checkout/preview/                  302 /checkout/thank-you/ -- \
  --data-urlencode "csrfmiddlewaretoken=$TOKEN" -d action=place_order
req guest-thank-you     GET  /checkout/thank-you/                200
GORDER=$(grep -A1 'your order number is' "$BODY" | grep -o '[0-9]\{6,\}' | head -1)
[ -n "$GORDER" ]; check $? "guest thank-you page shows order number ${GORDER:-?}"

T_END=$(date +%s.%N)
awk -v a="$T_START" -v b="$T_END" -v e="$EMAIL" -v o="${ORDER:-}" -v g="${GORDER:-}" \
  'BEGIN{printf "user %s, orders %s (logged in) and %s (guest); flow took %.2fs\n", e, o, g, b-a}'
rm -rf "$W"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
