/*
 * auth: Firebase sign-in (Identity Toolkit), token refresh (Secure
 * Token) and the web app configuration (Firebase Management API).
 *
 *   POST /v1/accounts:signInWithPassword?key=K
 *        {"email", "password", "returnSecureToken": true}
 *   POST /v1/token?key=K
 *        {"grant_type": "refresh_token", "refresh_token": ...}
 *        (or the same as application/x-www-form-urlencoded)
 *   GET  /v1alpha/projects/-/apps/{app_id}/webConfig
 *        x-goog-api-key: K
 */
#include <civetweb.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "twsim.h"

#define ITK_SERVICE	"identitytoolkit.googleapis.com"
#define STS_SERVICE	"securetoken.googleapis.com"

static const char *
json_string(const cJSON *root, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Parses the body read as a JSON object; NULL with a 400 answered. */
static cJSON *
json_object(struct tw_req *r)
{
	cJSON *root = cJSON_ParseWithLength(r->body.data, r->body.len);

	if (root == NULL || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		req_json_error(r, "Unknown name or unexpected token: the body "
		    "must be a JSON object.");
		return NULL;
	}
	return root;
}

static void
expires_in(const struct tw_world *w, char *out, size_t len)
{
	snprintf(out, len, "%lld", (long long)((w->token_ms + 999) / 1000));
}

int
auth_signin(struct tw_req *r)
{
	const char *email, *password;
	struct tw_account *a;
	struct buf id, refresh;
	char exp[24];
	struct jw j;
	cJSON *root;

	if (strcmp(r->method, "POST") != 0)
		return req_method_error(r, "POST");
	if (req_key_required(r, ITK_SERVICE) == -1)
		return r->status;
	if (req_read_body(r) == -1 || (root = json_object(r)) == NULL)
		return r->status;
	email = json_string(root, "email");
	password = json_string(root, "password");
	if (email == NULL || strchr(email, '@') == NULL)
		req_auth_error(r, "INVALID_EMAIL");
	else if (password == NULL || *password == '\0')
		req_auth_error(r, "MISSING_PASSWORD");
	else if ((a = scenario_find_email(r->w, email)) == NULL ||
	    !util_streq_ct(password, a->password))
		/*
		 * Email enumeration protection, on for projects made since
		 * 2023: a wrong e-mail and a wrong password answer alike.
		 */
		req_auth_error(r, "INVALID_LOGIN_CREDENTIALS");
	else if (a->disabled)
		req_auth_error(r, "USER_DISABLED");
	else {
		buf_init(&id);
		buf_init(&refresh);
		if (token_id_make(r->w, a, r->now_ms, r->now_ms / 1000,
		    &id) == -1 || token_refresh_make(r->w, a, r->now_ms / 1000,
		    &refresh) == -1) {
			req_google_error(r, 500, NULL, "INTERNAL_ERROR");
		} else {
			atomic_fetch_add(&r->w->stats.signins, 1);
			expires_in(r->w, exp, sizeof(exp));
			r->status = 200;
			jw_init(&j, &r->out, r->pretty);
			jw_obj(&j);
			jw_kstr(&j, "kind",
			    "identitytoolkit#VerifyPasswordResponse");
			jw_kstr(&j, "localId", a->uid);
			jw_kstr(&j, "email", a->email);
			jw_kstr(&j, "displayName", a->display_name);
			jw_kstr(&j, "idToken", id.data);
			jw_key(&j, "registered");
			jw_bool(&j, true);
			jw_kstr(&j, "refreshToken", refresh.data);
			jw_kstr(&j, "expiresIn", exp);
			jw_obj_end(&j);
			jw_end(&j);
		}
		buf_free(&id);
		buf_free(&refresh);
	}
	cJSON_Delete(root);
	return r->status;
}

/* grant_type and refresh_token from a JSON or a form body. */
static int
refresh_params(struct tw_req *r, char *grant, size_t glen, char *tok,
    size_t tlen)
{
	const char *g, *t, *p;
	cJSON *root;

	grant[0] = tok[0] = '\0';
	if (req_read_body(r) == -1)
		return -1;
	/* Clients send either, whatever their Content-Type says. */
	for (p = r->body.data; *p == ' ' || *p == '\n' || *p == '\r' ||
	    *p == '\t'; p++)
		;
	if (*p != '{') {
		mg_get_var(r->body.data, r->body.len, "grant_type", grant, glen);
		mg_get_var(r->body.data, r->body.len, "refresh_token", tok,
		    tlen);
		return 0;
	}
	if ((root = json_object(r)) == NULL)
		return -1;
	if ((g = json_string(root, "grant_type")) != NULL)
		util_strlcpy(grant, g, glen);
	if ((t = json_string(root, "refresh_token")) != NULL)
		util_strlcpy(tok, t, tlen);
	cJSON_Delete(root);
	return 0;
}

int
auth_token(struct tw_req *r)
{
	char grant[64], tok[1024], exp[24];
	struct tw_account *a;
	struct buf id;
	const char *why;
	int64_t auth_s;
	struct jw j;

	if (strcmp(r->method, "POST") != 0)
		return req_method_error(r, "POST");
	if (req_key_required(r, STS_SERVICE) == -1 ||
	    refresh_params(r, grant, sizeof(grant), tok, sizeof(tok)) == -1)
		return r->status;
	if (grant[0] == '\0')
		return req_google_error(r, 400, NULL, "MISSING_GRANT_TYPE");
	if (strcmp(grant, "refresh_token") != 0)
		return req_google_error(r, 400, NULL, "INVALID_GRANT_TYPE");
	if (tok[0] == '\0')
		return req_google_error(r, 400, NULL, "MISSING_REFRESH_TOKEN");
	if (token_refresh_check(r->w, tok, &a, &auth_s, &why) == -1)
		return req_google_error(r, 400, NULL, why);
	buf_init(&id);
	if (token_id_make(r->w, a, r->now_ms, auth_s, &id) == -1) {
		buf_free(&id);
		return req_google_error(r, 500, NULL, "INTERNAL_ERROR");
	}
	atomic_fetch_add(&r->w->stats.refreshes, 1);
	expires_in(r->w, exp, sizeof(exp));
	r->status = 200;
	jw_init(&j, &r->out, r->pretty);
	jw_obj(&j);
	jw_kstr(&j, "access_token", id.data);
	jw_kstr(&j, "expires_in", exp);
	jw_kstr(&j, "token_type", "Bearer");
	jw_kstr(&j, "refresh_token", tok);
	jw_kstr(&j, "id_token", id.data);
	jw_kstr(&j, "user_id", a->uid);
	jw_kstr(&j, "project_id", TW_PROJECT_NUM);
	jw_obj_end(&j);
	jw_end(&j);
	buf_free(&id);
	return r->status;
}

/* r->arg holds the app id. */
int
auth_webconfig(struct tw_req *r)
{
	const char *key = mg_get_header(r->conn, "x-goog-api-key");
	char qkey[256];
	struct jw j;

	if (strcmp(r->method, "GET") != 0)
		return req_method_error(r, "GET");
	if (key == NULL && req_query(r, "key", qkey, sizeof(qkey)))
		key = qkey;
	if (key == NULL || *key == '\0')
		return req_google_error(r, 403, "PERMISSION_DENIED", "Method "
		    "doesn't allow unregistered callers (callers without "
		    "established identity). Please use API Key or other form "
		    "of API consumer identity to call this API.");
	if (!scenario_key_ok(r->w, key))
		return req_key_error(r, "firebase.googleapis.com");
	r->status = 200;
	jw_init(&j, &r->out, r->pretty);
	jw_obj(&j);
	jw_kstr(&j, "projectId", TW_PROJECT_ID);
	jw_kstr(&j, "appId", r->arg);
	jw_kstr(&j, "databaseURL", "https://" TW_PROJECT_ID
	    "-default-rtdb.firebaseio.com");
	jw_kstr(&j, "storageBucket", TW_BUCKET);
	jw_kstr(&j, "locationId", "us-central");
	jw_kstr(&j, "apiKey", key);
	jw_kstr(&j, "authDomain", TW_PROJECT_ID ".firebaseapp.com");
	jw_kstr(&j, "messagingSenderId", TW_PROJECT_NUM);
	jw_kstr(&j, "measurementId", "G-TWSIM0000");
	jw_obj_end(&j);
	jw_end(&j);
	return 200;
}
