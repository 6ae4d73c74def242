/*
 * Firebase sign-in and token refresh, one state machine per account.
 *
 *	NONE/FAILED --(signin_at)--> SIGNING_IN --200--> VALID
 *	VALID --(refresh_at, or a 401)--> REFRESHING --200--> VALID
 *	REFRESHING --400 (refresh token refused)--> SIGNING_IN
 *	REFRESHING --no answer, token still good--> VALID, retry soon
 *	SIGNING_IN --error--> FAILED (backoff: longer for
 *	                      TOO_MANY_ATTEMPTS_TRY_LATER and bad credentials)
 *
 * The id token is refreshed a margin before it expires (60 s, or a
 * quarter of its lifetime when that is shorter); a 401 from Firestore
 * refreshes at once; a refused refresh signs in again. Requests that
 * need a token wait for one on their account (fetch.c).
 *
 * An account made with Google or Apple sign-in has no password: its
 * "sign-in" is a refresh with the token of thermoworks.refresh_token_file
 * (read again at every try, so that a new one can be put in place). When
 * that one is refused, only the user can help: FAILED, with the
 * credentials back-off, and the reason says so.
 *
 * The password goes into one request body, wiped when the request is
 * freed; neither it nor any token is ever logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poller.h"

#define SIGNIN_BASE_MS		1000
#define SIGNIN_CAP_MS		(5 * 60 * 1000)
#define THROTTLED_MIN_MS	5000		/* TOO_MANY_ATTEMPTS_TRY_LATER */
#define CREDENTIALS_MIN_MS	60000		/* INVALID_PASSWORD and alike */
#define REFRESH_RETRY_MS	5000
#define REFRESH_MARGIN_MS	60000

/* How long before expiry a token of that lifetime is refreshed. */
int64_t
auth_refresh_margin_ms(int64_t lifetime_ms)
{
	int64_t quarter = lifetime_ms / 4;

	return quarter < REFRESH_MARGIN_MS ? quarter : REFRESH_MARGIN_MS;
}

bool
auth_has_token(const struct tw_account *a)
{
	return (a->auth == AUTH_VALID || a->auth == AUTH_REFRESHING) &&
	    a->id_token != NULL && util_mono_ms() < a->token_expires_ms;
}

static void
drop_token(struct tw_account *a, bool refresh_too)
{
	if (a->id_token != NULL) {
		explicit_bzero(a->id_token, strlen(a->id_token));
		free(a->id_token);
		a->id_token = NULL;
	}
	if (refresh_too && a->refresh_token != NULL) {
		explicit_bzero(a->refresh_token, strlen(a->refresh_token));
		free(a->refresh_token);
		a->refresh_token = NULL;
	}
}

static void
set_state(struct poller *p, struct tw_account *a, enum auth_state s)
{
	a->auth = s;
}

/* A string or a number of seconds ("3600" or 3600); -1 when neither. */
static int64_t
expires_ms(const cJSON *v)
{
	int64_t s;

	if (cJSON_IsString(v) && util_parse_int(v->valuestring, &s) == 0)
		;
	else if (cJSON_IsNumber(v))
		s = (int64_t)v->valuedouble;
	else
		return -1;
	return s > 0 && s <= 86400 * 7 ? s * 1000 : -1;
}

static char *
json_strdup(const cJSON *root, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);

	return cJSON_IsString(v) && v->valuestring[0] != '\0' ?
	    strdup(v->valuestring) : NULL;
}

/*
 * Takes the tokens of a 200 answer (sign-in names them idToken,
 * refreshToken, expiresIn, localId; refresh id_token, refresh_token,
 * expires_in, user_id). 0, or -1 when the answer lacks one.
 */
static int
take_tokens(struct poller *p, struct tw_account *a, const struct buf *resp,
    bool signin)
{
	cJSON *root = cJSON_ParseWithLength(resp->data ? resp->data : "",
	    resp->len);
	char *id = NULL, *refresh = NULL;
	const cJSON *uid;
	int64_t life, now = util_mono_ms();

	if (root == NULL)
		return -1;
	id = json_strdup(root, signin ? "idToken" : "id_token");
	refresh = json_strdup(root, signin ? "refreshToken" :
	    "refresh_token");
	life = expires_ms(cJSON_GetObjectItemCaseSensitive(root,
	    signin ? "expiresIn" : "expires_in"));
	uid = cJSON_GetObjectItemCaseSensitive(root, signin ? "localId" :
	    "user_id");
	if (id == NULL || refresh == NULL || life < 0 ||
	    (signin && !cJSON_IsString(uid))) {
		free(id);
		free(refresh);
		cJSON_Delete(root);
		return -1;
	}
	if (cJSON_IsString(uid))
		util_strlcpy(a->uid, uid->valuestring, sizeof(a->uid));
	drop_token(a, true);
	a->id_token = id;
	a->refresh_token = refresh;
	a->token_gen++;
	a->token_expires_ms = now + life;
	a->refresh_at_ms = now + life - auth_refresh_margin_ms(life);
	cJSON_Delete(root);
	set_state(p, a, AUTH_VALID);
	backoff_reset(&a->signin_bo);
	fetch_account_ready(&p->fetch, a);
	return 0;
}

static void
signin_retry(struct poller *p, struct tw_account *a, int64_t min_ms,
    int64_t retry_after_ms)
{
	int64_t delay = backoff_next(&a->signin_bo, retry_after_ms);

	if (delay < min_ms)
		delay = min_ms;
	a->signin_at_ms = util_mono_ms() + delay;
	set_state(p, a, AUTH_FAILED);
	log_warnx("%s: sign-in failed (%s); next try in %lld ms", a->email,
	    a->last_error, (long long)delay);
}

static void
signin_done(struct fetch_req *r, void *arg)
{
	struct tw_account *a = arg;
	struct poller *p = a->poller;
	char msg[96] = "";

	if (r->result == FETCH_DONE && r->status == 200 &&
	    take_tokens(p, a, &r->resp, true) == 0) {
		metric_inc(p->m.signins_ok);
		if (a->last_error[0] != '\0')
			log_info("%s: signed in again", a->email);
		else
			log_info("%s: signed in", a->email);
		a->last_error[0] = '\0';
		return;
	}
	drop_token(a, true);
	if (r->result != FETCH_DONE) {
		metric_inc(p->m.signins_failed);
		snprintf(a->last_error, sizeof(a->last_error), "%s",
		    r->errstr ? r->errstr : "no answer");
		signin_retry(p, a, 0, r->retry_after_ms);
		return;
	}
	if (fs_error_message(r->resp.data, r->resp.len, msg,
	    sizeof(msg)) == -1)
		snprintf(msg, sizeof(msg), "HTTP %ld", r->status);
	snprintf(a->last_error, sizeof(a->last_error), "%s", msg);
	if (strncmp(msg, "TOO_MANY_ATTEMPTS_TRY_LATER", 27) == 0) {
		metric_inc(p->m.signins_throttled);
		signin_retry(p, a, THROTTLED_MIN_MS, r->retry_after_ms);
	} else if (r->status == 400 || r->status == 403) {
		/* EMAIL_NOT_FOUND, INVALID_PASSWORD, API_KEY_INVALID, ... */
		metric_inc(p->m.signins_failed);
		signin_retry(p, a, CREDENTIALS_MIN_MS, r->retry_after_ms);
	} else {
		metric_inc(p->m.signins_failed);
		signin_retry(p, a, 0, r->retry_after_ms);
	}
}

static void	refresh_start(struct poller *, struct tw_account *);

/* A refresh-token account signs in with the token of its file. */
static void
signin_from_file(struct poller *p, struct tw_account *a)
{
	char why[256];
	char *token;

	if ((token = account_read_secret(a->refresh_file, why,
	    sizeof(why))) == NULL) {
		metric_inc(p->m.signins_failed);
		util_strlcpy(a->last_error, why, sizeof(a->last_error));
		signin_retry(p, a, CREDENTIALS_MIN_MS, -1);
		return;
	}
	drop_token(a, true);
	a->refresh_token = token;
	a->from_file = true;
	refresh_start(p, a);
	if (a->auth == AUTH_REFRESHING)
		set_state(p, a, AUTH_SIGNING_IN);
}

static void
signin_start(struct poller *p, struct tw_account *a)
{
	const struct grilld_conf *cf = p->cf;
	struct fetch_req *r;
	cJSON *body;
	char *key;

	if (a->password == NULL) {
		signin_from_file(p, a);
		return;
	}

	if ((key = curl_easy_escape(NULL, a->api_key, 0)) == NULL)
		return;
	r = fetch_req_new(TW_EP_AUTH, NULL, util_strdupf(
	    "%s/v1/accounts:signInWithPassword?key=%s",
	    cf->thermoworks.auth_url, key), signin_done, a);
	curl_free(key);
	if (r == NULL)
		return;
	if ((body = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(body, "email", a->email) == NULL ||
	    cJSON_AddStringToObject(body, "password", a->password) == NULL ||
	    cJSON_AddTrueToObject(body, "returnSecureToken") == NULL ||
	    (r->body = cJSON_PrintUnformatted(body)) == NULL) {
		cJSON_Delete(body);
		fetch_req_free(r);
		return;
	}
	/* cJSON's copy of the password goes with the tree. */
	explicit_bzero(cJSON_GetObjectItem(body, "password")->valuestring,
	    strlen(a->password));
	cJSON_Delete(body);
	r->referer = true;
	set_state(p, a, AUTH_SIGNING_IN);
	fetch_submit(&p->fetch, r);
}

static void
refresh_done(struct fetch_req *r, void *arg)
{
	struct tw_account *a = arg;
	struct poller *p = a->poller;
	char msg[96] = "";

	bool from_file = a->from_file;

	a->from_file = false;
	if (r->result == FETCH_DONE && r->status == 200 &&
	    take_tokens(p, a, &r->resp, false) == 0) {
		metric_inc(from_file ? p->m.signins_ok : p->m.refresh_ok);
		if (from_file)
			log_info("%s: signed in with the refresh token of %s",
			    a->email, a->refresh_file);
		else
			log_debug("%s: token refreshed", a->email);
		a->last_error[0] = '\0';
		return;
	}
	metric_inc(from_file ? p->m.signins_failed : p->m.refresh_failed);
	if (r->result == FETCH_DONE && r->status >= 400 && r->status < 500) {
		if (fs_error_message(r->resp.data, r->resp.len, msg,
		    sizeof(msg)) == -1)
			snprintf(msg, sizeof(msg), "HTTP %ld", r->status);
		if (from_file) {
			/* No password to fall back on: the user must act. */
			drop_token(a, true);
			snprintf(a->last_error, sizeof(a->last_error),
			    "%s: the refresh token of %s is refused; sign in "
			    "again and save a new one", msg, a->refresh_file);
			signin_retry(p, a, CREDENTIALS_MIN_MS,
			    r->retry_after_ms);
			return;
		}
		log_warnx("%s: token refresh refused (%s); signing in again",
		    a->email, msg);
		drop_token(a, true);
		signin_start(p, a);
		return;
	}
	if (from_file) {
		drop_token(a, true);
		snprintf(a->last_error, sizeof(a->last_error), "%s",
		    r->errstr ? r->errstr : "no answer");
		signin_retry(p, a, 0, r->retry_after_ms);
		return;
	}
	if (a->id_token != NULL && util_mono_ms() + REFRESH_RETRY_MS <
	    a->token_expires_ms) {
		log_warnx("%s: token refresh failed (%s); trying again soon",
		    a->email, r->errstr ? r->errstr : "odd answer");
		a->refresh_at_ms = util_mono_ms() + REFRESH_RETRY_MS;
		set_state(p, a, AUTH_VALID);
		return;
	}
	log_warnx("%s: token refresh failed (%s); signing in again",
	    a->email, r->errstr ? r->errstr : "odd answer");
	drop_token(a, true);
	signin_start(p, a);
}

static void
refresh_start(struct poller *p, struct tw_account *a)
{
	const struct grilld_conf *cf = p->cf;
	struct fetch_req *r;
	cJSON *body;
	char *key;

	if (a->refresh_token == NULL) {
		drop_token(a, true);
		signin_start(p, a);
		return;
	}
	if ((key = curl_easy_escape(NULL, a->api_key, 0)) == NULL)
		return;
	r = fetch_req_new(TW_EP_TOKEN, NULL, util_strdupf("%s/v1/token?key=%s",
	    cf->thermoworks.token_url, key), refresh_done, a);
	curl_free(key);
	if (r == NULL)
		return;
	if ((body = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(body, "grant_type", "refresh_token") ==
	    NULL || cJSON_AddStringToObject(body, "refresh_token",
	    a->refresh_token) == NULL ||
	    (r->body = cJSON_PrintUnformatted(body)) == NULL) {
		cJSON_Delete(body);
		fetch_req_free(r);
		return;
	}
	cJSON_Delete(body);
	set_state(p, a, AUTH_REFRESHING);
	fetch_submit(&p->fetch, r);
}

/* Starts what is due: a sign-in, or a refresh before expiry. */
void
auth_tick(struct poller *p, struct tw_account *a, int64_t now)
{
	switch (a->auth) {
	case AUTH_NONE:
	case AUTH_FAILED:
		if (now >= a->signin_at_ms)
			signin_start(p, a);
		break;
	case AUTH_VALID:
		if (now >= a->refresh_at_ms || a->id_token == NULL)
			refresh_start(p, a);
		break;
	case AUTH_SIGNING_IN:
	case AUTH_REFRESHING:
		break;
	}
}

/*
 * Firestore refused the token of generation gen (401): unless a newer
 * one came meanwhile, drop it and refresh now.
 */
void
auth_invalidate(struct poller *p, struct tw_account *a, unsigned gen)
{
	if (gen != a->token_gen || a->id_token == NULL)
		return;
	metric_inc(p->m.token_rejected);
	log_info("%s: token refused by Firestore; refreshing", a->email);
	drop_token(a, false);
	if (a->auth == AUTH_VALID)
		refresh_start(p, a);
}

/* When auth_tick() next has something to do (monotonic ms). */
int64_t
auth_next_event_ms(const struct tw_account *a)
{
	switch (a->auth) {
	case AUTH_NONE:
	case AUTH_FAILED:
		return a->signin_at_ms;
	case AUTH_VALID:
		return a->refresh_at_ms;
	default:
		return INT64_MAX;
	}
}

/* Forgets the tokens (the lease went elsewhere, or shut-down). */
void
auth_forget(struct poller *p, struct tw_account *a)
{
	drop_token(a, true);
	set_state(p, a, AUTH_NONE);
}
