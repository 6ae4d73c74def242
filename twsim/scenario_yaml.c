/*
 * scenario_yaml: accounts and devices from twsim.accounts.
 *
 *   twsim:
 *     accounts:
 *       - email: cook@example.com
 *         password: secret
 *         api_key: extra-key          # optional, accepted as well
 *         uid, account_id, display_name, units (F|C), disabled
 *         devices:
 *           - serial: S1
 *             model: signals          # smoke node rfx_gateway rfx_meat
 *                                     # thermadata
 *             label: Backyard
 *             channels: 4             # or a list of {label, type, cook,
 *                                     #   unplugs, plugged, offset}
 *             recording_interval: 30s
 *             upload_interval: 60s
 *             archive_interval: 1h
 *             cook: brisket           # the main cook, see cook.c
 *             cook_offset: 2h         # start this far into the cook
 *             set_temp: 250           # pit set point, F
 *             units: F
 *
 * Errors name the file and line of the node (cnode_where), the whole
 * path of the key, and what would have been accepted.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "twsim.h"

struct yctx {
	struct tw_world	*w;
	char		*err;
	size_t		 errlen;
	int		 nerr;
};

static void __attribute__((format(printf, 4, 5)))
yerr(struct yctx *y, const struct cnode *n, const char *path,
    const char *fmt, ...)
{
	char where[128], msg[256];
	size_t used = strlen(y->err);
	va_list ap;

	y->nerr++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cnode_where(n, where, sizeof(where));
	if (used < y->errlen)
		snprintf(y->err + used, y->errlen - used, "%s%s: %s: %s",
		    used ? "\n" : "", where, path, msg);
}

/* Reports keys of map n not in the NULL-terminated list. */
static void
ykeys(struct yctx *y, const struct cnode *n, const char *path,
    const char *const *known)
{
	for (const struct cnode *c = n->child; c != NULL; c = c->next) {
		bool ok = false;

		for (int i = 0; known[i] != NULL; i++)
			if (strcmp(c->key, known[i]) == 0)
				ok = true;
		if (!ok)
			yerr(y, c, path, "unknown key '%s'", c->key);
	}
}

static const char *
yscalar(struct yctx *y, const struct cnode *map, const char *path,
    const char *key, bool required)
{
	const struct cnode *c = cnode_get(map, key);

	if (c == NULL) {
		if (required)
			yerr(y, map, path, "'%s' is required", key);
		return NULL;
	}
	if (c->kind != CNODE_SCALAR) {
		yerr(y, c, path, "'%s' must be a single value", key);
		return NULL;
	}
	return c->value;
}

static int
ybool(struct yctx *y, const struct cnode *map, const char *path,
    const char *key, bool *out)
{
	const char *v = yscalar(y, map, path, key, false);

	if (v == NULL)
		return 0;
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off"))
		*out = false;
	else {
		yerr(y, cnode_get(map, key), path, "%s: '%s' is not true or "
		    "false", key, v);
		return -1;
	}
	return 0;
}

static int
yduration(struct yctx *y, const struct cnode *map, const char *path,
    const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	const char *v = yscalar(y, map, path, key, false);
	char a[32], b[32];
	int64_t ms;

	if (v == NULL)
		return 0;
	if (util_parse_duration(v, &ms) == -1 || ms < lo || ms > hi) {
		util_format_duration(lo, a, sizeof(a));
		util_format_duration(hi, b, sizeof(b));
		yerr(y, cnode_get(map, key), path, "%s: '%s' is not a duration "
		    "from %s to %s", key, v, a, b);
		return -1;
	}
	*out = ms;
	return 0;
}

static int
ynumber(struct yctx *y, const struct cnode *map, const char *path,
    const char *key, double lo, double hi, double *out)
{
	const char *v = yscalar(y, map, path, key, false);
	double d;

	if (v == NULL)
		return 0;
	if (util_parse_double(v, &d) == -1 || d < lo || d > hi) {
		yerr(y, cnode_get(map, key), path, "%s: '%s' is not a number "
		    "from %g to %g", key, v, lo, hi);
		return -1;
	}
	*out = d;
	return 0;
}

static int
ycook(struct yctx *y, const struct cnode *map, const char *path,
    enum tw_cook *out)
{
	const char *v = yscalar(y, map, path, "cook", false);

	if (v != NULL && cook_parse(v, out) == -1) {
		yerr(y, cnode_get(map, "cook"), path, "cook: '%s' is not one of "
		    "pit|brisket|pork|ribs|chicken|ambient|fridge|humidity", v);
		return -1;
	}
	return 0;
}

static bool
serial_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= TW_SERIAL_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' &&
		    *s != ':')
			return false;
	return true;
}

static void
ychannel(struct yctx *y, struct tw_device *d, int i, const struct cnode *n,
    const char *path)
{
	static const char *const known[] = { "number", "label", "type",
		"cook", "unplugs", "plugged", "offset", NULL };
	bool plugged = true;
	struct tw_channel *c = &d->ch[i];
	const char *v;
	double num = 0;

	if (n->kind != CNODE_MAP) {
		yerr(y, n, path, "a channel is a map of label, type, cook, "
		    "unplugs, plugged, offset");
		return;
	}
	ykeys(y, n, path, known);
	if (ycook(y, n, path, &c->cook) == 0 &&
	    cnode_get(n, "cook") != NULL) {
		util_strlcpy(c->label, scenario_cook_label(c->cook), sizeof(c->label));
		util_strlcpy(c->type, scenario_cook_type(c->cook), sizeof(c->type));
	}
	if ((v = yscalar(y, n, path, "label", false)) != NULL)
		util_strlcpy(c->label, v, sizeof(c->label));
	if ((v = yscalar(y, n, path, "type", false)) != NULL)
		util_strlcpy(c->type, v, sizeof(c->type));
	ybool(y, n, path, "unplugs", &c->unplugs);
	if (ybool(y, n, path, "plugged", &plugged) == 0)
		c->absent = !plugged;
	ynumber(y, n, path, "offset", -100, 100, &c->offset_f);
	/* A number past the one before leaves a hole, as real ones do. */
	if (ynumber(y, n, path, "number", 1, TW_CHANNEL_NUMBER_MAX, &num) ==
	    0 && num > 0) {
		if (num != (int)num || (i > 0 && (int)num <= d->ch[i - 1].number))
			yerr(y, cnode_get(n, "number"), path, "number: a whole "
			    "number above the channel before's (%g)", num);
		else
			c->number = (int)num;
	} else if (i > 0) {
		c->number = d->ch[i - 1].number + 1;
	}
}

static void
ydevice(struct yctx *y, struct tw_account *a, const struct cnode *n,
    const char *path)
{
	static const char *const known[] = { "serial", "model", "label",
		"channels", "recording_interval", "upload_interval",
		"archive_interval", "archive_delay", "cook", "cook_offset",
		"set_temp", "units", "firmware", NULL };
	int max;
	const struct cnode *chs;
	const char *serial, *model, *v;
	enum tw_model m;
	enum tw_cook main;
	struct tw_device *d;
	char sub[160];
	int64_t offset = 0;
	double num;
	int nch = 0;

	if (n->kind != CNODE_MAP) {
		yerr(y, n, path, "a device is a map (serial, model, ...)");
		return;
	}
	ykeys(y, n, path, known);
	serial = yscalar(y, n, path, "serial", true);
	model = yscalar(y, n, path, "model", true);
	if (serial == NULL || model == NULL)
		return;
	if (!serial_ok(serial)) {
		yerr(y, cnode_get(n, "serial"), path, "serial: '%s' must be 1 "
		    "to %d letters, digits, '-', '_' or ':'", serial,
		    TW_SERIAL_MAX - 1);
		return;
	}
	if (scenario_model_parse(model, &m) == -1) {
		yerr(y, cnode_get(n, "model"), path, "model: '%s' is not one "
		    "of signals|smoke|node|rfx_gateway|rfx_meat|thermadata",
		    model);
		return;
	}
	if (m == MODEL_RFX_MEAT && serial[0] != 'M')
		yerr(y, cnode_get(n, "serial"), path, "serial: an RFX Meat "
		    "probe's serial starts with 'M' ('%s')", serial);
	max = scenario_model_max(m);
	chs = cnode_get(n, "channels");
	if (chs != NULL && chs->kind == CNODE_SCALAR) {
		int64_t c;

		if (util_parse_int(chs->value, &c) == -1 || c < 1 ||
		    c > max) {
			yerr(y, chs, path, "channels: a %s has 1 to %d "
			    "channels ('%s')", scenario_model_name(m), max,
			    chs->value);
			return;
		}
		nch = (int)c;
	} else if (chs != NULL && chs->kind == CNODE_SEQ) {
		for (const struct cnode *c = chs->child; c; c = c->next)
			nch++;
		if (nch < 1 || nch > max) {
			yerr(y, chs, path, "channels: a %s has 1 to %d "
			    "channels (%d listed)", scenario_model_name(m), max,
			    nch);
			return;
		}
	} else if (chs != NULL) {
		yerr(y, chs, path, "channels: a count or a list of channels");
		return;
	}
	d = scenario_device(y->w, a, serial, m, nch);
	main = scenario_model_cook(m);
	if (ycook(y, n, path, &main) == 0)
		scenario_layout(d, main);
	if ((v = yscalar(y, n, path, "label", false)) != NULL)
		util_strlcpy(d->label, v, sizeof(d->label));
	if ((v = yscalar(y, n, path, "firmware", false)) != NULL)
		util_strlcpy(d->firmware, v, sizeof(d->firmware));
	yduration(y, n, path, "recording_interval", 1000, 86400000, &d->rec_ms);
	yduration(y, n, path, "upload_interval", 1000, 86400000, &d->upl_ms);
	yduration(y, n, path, "archive_interval", 1000, 7 * 86400000LL,
	    &d->archive_ms);
	yduration(y, n, path, "archive_delay", 0, 7 * 86400000LL,
	    &d->archive_delay_ms);
	if (yduration(y, n, path, "cook_offset", 0, 30 * 86400000LL,
	    &offset) == 0)
		d->cook_offset_s = (double)offset / 1000;
	num = 0;
	if (ynumber(y, n, path, "set_temp", 150, 700, &num) == 0 && num > 0)
		d->set_temp_f = (int)num;
	if ((v = yscalar(y, n, path, "units", false)) != NULL) {
		if (strcmp(v, "F") && strcmp(v, "C"))
			yerr(y, cnode_get(n, "units"), path, "units: '%s' is not "
			    "F or C", v);
		else
			d->units = v[0];
	}
	if (chs != NULL && chs->kind == CNODE_SEQ) {
		int i = 0;

		for (const struct cnode *c = chs->child; c; c = c->next, i++) {
			snprintf(sub, sizeof(sub), "%.100s.channels[%d]", path, i);
			ychannel(y, d, i, c, sub);
		}
	}
}

static void
yaccount(struct yctx *y, const struct cnode *n, const char *path)
{
	static const char *const known[] = { "email", "password", "api_key",
		"uid", "account_id", "display_name", "units", "disabled",
		"devices", NULL };
	const struct cnode *devs;
	const char *email, *password, *v;
	struct tw_account *a;
	char sub[160];
	int i = 0;

	if (n->kind != CNODE_MAP) {
		yerr(y, n, path, "an account is a map (email, password, "
		    "devices, ...)");
		return;
	}
	ykeys(y, n, path, known);
	email = yscalar(y, n, path, "email", true);
	password = yscalar(y, n, path, "password", true);
	if (email == NULL || password == NULL)
		return;
	if (strchr(email, '@') == NULL)
		yerr(y, cnode_get(n, "email"), path, "email: '%s' is not an "
		    "e-mail address", email);
	a = scenario_account(y->w, email, password,
	    yscalar(y, n, path, "uid", false));
	if ((v = yscalar(y, n, path, "api_key", false)) != NULL)
		scenario_set(&a->api_key, v);
	if ((v = yscalar(y, n, path, "account_id", false)) != NULL)
		scenario_set(&a->account_id, v);
	if ((v = yscalar(y, n, path, "display_name", false)) != NULL)
		scenario_set(&a->display_name, v);
	if ((v = yscalar(y, n, path, "units", false)) != NULL) {
		if (strcmp(v, "F") && strcmp(v, "C"))
			yerr(y, cnode_get(n, "units"), path, "units: '%s' is not "
			    "F or C", v);
		else
			a->units = v[0];
	}
	ybool(y, n, path, "disabled", &a->disabled);
	devs = cnode_get(n, "devices");
	if (devs == NULL)
		return;
	if (devs->kind != CNODE_SEQ) {
		yerr(y, devs, path, "devices: a list of devices");
		return;
	}
	for (const struct cnode *c = devs->child; c; c = c->next, i++) {
		snprintf(sub, sizeof(sub), "%.100s.devices[%d]", path, i);
		ydevice(y, a, c, sub);
	}
}

/*
 * Adds the accounts of a twsim.accounts tree to the world. Returns 0,
 * or -1 with every problem found (one a line) in err.
 */
int
scenario_load(struct tw_world *w, const struct cnode *root, char *err,
    size_t errlen)
{
	struct yctx y = { w, err, errlen, 0 };
	char path[64];
	int i = 0;

	err[0] = '\0';
	if (root->kind != CNODE_SEQ) {
		yerr(&y, root, "twsim.accounts", "a list of accounts");
		return -1;
	}
	for (const struct cnode *c = root->child; c; c = c->next, i++) {
		snprintf(path, sizeof(path), "twsim.accounts[%d]", i);
		yaccount(&y, c, path);
	}
	if (y.nerr == 0 && w->naccounts == 0)
		yerr(&y, root, "twsim.accounts", "no account configured");
	return y.nerr ? -1 : 0;
}

/* Checks a tree the way scenario_load() would take it (for -n). */
int
scenario_check(const struct cnode *root, char *err, size_t errlen)
{
	struct tw_world *w = scenario_new(0, 1, 0, 1000, "");
	int rc = scenario_load(w, root, err, errlen);

	if (rc == 0)
		rc = scenario_finish(w, err, errlen);
	scenario_free(w);
	return rc;
}
