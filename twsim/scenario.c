/*
 * scenario: the simulated world (accounts, devices, channels), built once
 * at start-up, from twsim.accounts (scenario_yaml.c) or the demo
 * (demo.c), and never changed after: any thread may look things up.
 *
 * The models and what each looks like by default live here: a Signals
 * is a pit probe and three probes in the meat, a Node an internal sensor
 * and a humidity sensor, an RFX Meat probe four sensors along its length.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "twsim.h"

struct model_info {
	const char	*name;		/* in YAML */
	const char	*device;	/* the document's "device" */
	const char	*type;		/* the document's "type" */
	const char	*label;
	const char	*firmware;
	int		 channels, max_channels;
	enum tw_cook	 cook;		/* the default main cook */
	int64_t		 rec_ms, upl_ms;
};

/*
 * Intervals as the real devices show them (THERMOWORKS.md): a Node
 * records every 600 s and uploads every 7,200 s, an RFX gateway and
 * its Meat probes transmit every 60 s.
 */
static const struct model_info models[MODEL_COUNT] = {
	[MODEL_SIGNALS] = { "signals", "signals", "bbq", "Signals", "1.4.9",
	    4, 4, COOK_BRISKET, 30000, 60000 },
	[MODEL_SMOKE] = { "smoke", "smoke", "bbq", "Smoke", "2.1.0",
	    2, 2, COOK_PORK, 30000, 60000 },
	[MODEL_NODE] = { "node", "node", "datalogger", "Node", "1.2.3",
	    2, 2, COOK_HUMIDITY, 600000, 7200000 },
	[MODEL_RFX_GATEWAY] = { "rfx_gateway", "rfx gateway", "rfx",
	    "RFX Gateway", "1.0.12", 1, 1, COOK_PIT, 60000, 60000 },
	[MODEL_RFX_MEAT] = { "rfx_meat", "rfx meat", "rfx", "RFX Meat",
	    "1.0.7", 4, 4, COOK_BRISKET, 30000, 60000 },
	[MODEL_THERMADATA] = { "thermadata", "thermadata", "datalogger",
	    "ThermaData WiFi", "3.0.2", 1, 2, COOK_FRIDGE, 60000, 600000 },
};

const char *
scenario_model_name(enum tw_model m)
{
	return models[m].name;
}

const char *
scenario_model_kind(enum tw_model m)
{
	return models[m].device;
}

const char *
scenario_model_type(enum tw_model m)
{
	return models[m].type;
}

int
scenario_model_max(enum tw_model m)
{
	return models[m].max_channels;
}

enum tw_cook
scenario_model_cook(enum tw_model m)
{
	return models[m].cook;
}

int
scenario_model_parse(const char *s, enum tw_model *m)
{
	for (int i = 0; i < MODEL_COUNT; i++)
		if (strcmp(s, models[i].name) == 0) {
			*m = (enum tw_model)i;
			return 0;
		}
	return -1;
}

/* --- building ------------------------------------------------------- */

static void
set_channel(struct tw_channel *c, const char *label, const char *type,
    enum tw_cook cook, double offset, bool unplugs)
{
	util_strlcpy(c->label, label, sizeof(c->label));
	util_strlcpy(c->type, type, sizeof(c->type));
	c->cook = cook;
	c->offset_f = offset;
	c->unplugs = unplugs;
	c->absent = false;
	c->ext.upto = -1;
}

const char *
scenario_cook_label(enum tw_cook c)
{
	static const char *const labels[COOK_COUNT] = {
		"Pit", "Brisket", "Pork", "Ribs", "Chicken", "Ambient",
		"Cooler", "Humidity",
	};

	return labels[c];
}

const char *
scenario_cook_type(enum tw_cook c)
{
	/* The two values the published documents show. */
	return c == COOK_HUMIDITY ? "HumidityHumidity" : "Pro-Series";
}

/*
 * The channels a model has by default around a main cook: a Signals is
 * a pit probe and three probes in the meat (the last one gets
 * unplugged now and then), a Node its internal sensor and a humidity
 * sensor, an RFX Meat probe four sensors along its length (the handle
 * one reads the pit), and so on.
 */
void
scenario_layout(struct tw_device *d, enum tw_cook main)
{
	const char *name = scenario_cook_label(main);
	const char *type = scenario_cook_type(main);
	struct tw_channel *ch = d->ch;
	char label[TW_LABEL_MAX];

	for (int i = 0; i < TW_MAX_CHANNELS; i++) {
		if (ch[i].number == 0)
			ch[i].number = i + 1;
		snprintf(label, sizeof(label), "Probe %d", i + 1);
		set_channel(&ch[i], label, type, main, 0, false);
	}
	switch (d->model) {
	case MODEL_SIGNALS:
	case MODEL_SMOKE:
		set_channel(&ch[0], "Pit", type, COOK_PIT, 0, false);
		set_channel(&ch[1], name, type, main, 0, false);
		for (int i = 2; i < 4; i++) {
			snprintf(label, sizeof(label), "%s %d", name, i);
			set_channel(&ch[i], label, type, main, i == 2 ? 4 : -3,
			    i == 3);
		}
		break;
	case MODEL_NODE:
		set_channel(&ch[0], "Internal", "Internal", COOK_AMBIENT, 0,
		    false);
		set_channel(&ch[1], name, type, main, 0, false);
		break;
	case MODEL_RFX_GATEWAY:
		set_channel(&ch[0], "Air", type, main, 0, false);
		break;
	case MODEL_RFX_MEAT:
		set_channel(&ch[0], "Tip", type, main, 0, false);
		set_channel(&ch[1], "Center", type, main, 4, false);
		set_channel(&ch[2], "Surface", type, main, 12, false);
		set_channel(&ch[3], "Ambient", "Pro-Series", COOK_PIT, 0,
		    false);
		break;
	default:
		set_channel(&ch[0], name, type, main, 0, false);
		set_channel(&ch[1], "Room", "Pro-Series", COOK_AMBIENT, 0,
		    false);
		break;
	}
}

static char *
xstrdup(const char *s)
{
	char *p = strdup(s);

	if (p == NULL)
		fatal("strdup");
	return p;
}

static void *
xgrow(void *p, size_t n, size_t size)
{
	/* Grows arrays at powers of two; n is the new element count. */
	if ((n & (n - 1)) != 0)
		return p;
	if ((p = realloc(p, n * 2 * size)) == NULL)
		fatal("realloc");
	return p;
}

/* An id of n characters [A-Za-z0-9] drawn from h, like Firebase's. */
static void
make_id(uint64_t h, char *out, size_t n)
{
	static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789";

	for (size_t i = 0; i < n; i++) {
		h = hash_mix(h + i);
		out[i] = alnum[h % 62];
	}
	out[n] = '\0';
}

/* Replaces a string of the world. */
void
scenario_set(char **slot, const char *v)
{
	free(*slot);
	*slot = xstrdup(v);
}

struct tw_world *
scenario_new(uint64_t seed, double speed, int64_t t0_ms, int64_t token_ms,
    const char *api_key)
{
	struct tw_world *w;
	uint64_t a, b;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("calloc");
	w->seed = seed;
	w->speed = speed;
	w->t0_ms = t0_ms;
	w->token_ms = token_ms;
	w->api_key = xstrdup(api_key ? api_key : "");
	/* Tokens outlive a restart with the same seed, as real ones do. */
	a = hash3(seed, 0x746f6b656e, 1);
	b = hash3(seed, 0x746f6b656e, 2);
	memcpy(w->secret, &a, 8);
	memcpy(w->secret + 8, &b, 8);
	return w;
}

struct tw_account *
scenario_account(struct tw_world *w, const char *email, const char *password,
    const char *uid)
{
	struct tw_account *a;
	char id[32];

	if ((a = calloc(1, sizeof(*a))) == NULL)
		fatal("calloc");
	a->email = xstrdup(email);
	for (char *p = a->email; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	a->password = xstrdup(password);
	if (uid == NULL) {
		make_id(hash_str(w->seed, a->email), id, 28);
		uid = id;
	}
	a->uid = xstrdup(uid);
	make_id(hash_str(w->seed ^ 0x61636374, a->email), id, 20);
	a->account_id = xstrdup(id);
	a->display_name = xstrdup("");
	a->units = 'F';
	w->accounts = xgrow(w->accounts, w->naccounts + 1, sizeof(*w->accounts));
	w->accounts[w->naccounts++] = a;
	return a;
}

struct tw_device *
scenario_device(struct tw_world *w, struct tw_account *a, const char *serial,
    enum tw_model model, int nchannels)
{
	const struct model_info *mi = &models[model];
	struct tw_device *d;
	uint64_t h;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatal("calloc");
	util_strlcpy(d->serial, serial, sizeof(d->serial));
	d->model = model;
	d->account = a;
	d->key = hash_str(w->seed, serial);
	h = hash_mix(d->key ^ 0x6d6163);
	/* Signals, Node and gateways: the serial is the MAC, = deviceId. */
	if (model != MODEL_RFX_MEAT && strchr(serial, ':') != NULL)
		util_strlcpy(d->mac, serial, sizeof(d->mac));
	else if (model != MODEL_RFX_MEAT)
		snprintf(d->mac, sizeof(d->mac),
		    "%02X:%02X:%02X:%02X:%02X:%02X", 0x24, 0x0A,
		    (unsigned)(h >> 8) & 0xff, (unsigned)(h >> 16) & 0xff,
		    (unsigned)(h >> 24) & 0xff, (unsigned)(h >> 32) & 0xff);
	util_strlcpy(d->label, mi->label, sizeof(d->label));
	util_strlcpy(d->firmware, mi->firmware, sizeof(d->firmware));
	d->rec_ms = mi->rec_ms;
	d->upl_ms = mi->upl_ms;
	d->archive_ms = 3600 * 1000;
	d->archive_delay_ms = 60 * 1000;
	d->units = a->units;
	d->nchannels = nchannels > 0 ? nchannels : mi->channels;
	scenario_layout(d, mi->cook);
	pthread_mutex_init(&d->ext_mu, NULL);
	a->devices = xgrow(a->devices, a->ndevices + 1, sizeof(*a->devices));
	a->devices[a->ndevices++] = d;
	w->devices = xgrow(w->devices, w->ndevices + 1, sizeof(*w->devices));
	w->devices[w->ndevices++] = d;
	return d;
}

static int
by_serial(const void *a, const void *b)
{
	const struct tw_device *const *x = a, *const *y = b;

	return strcmp((*x)->serial, (*y)->serial);
}

/* Sorts, checks what spans accounts, counts. 0, or -1 with err. */
int
scenario_finish(struct tw_world *w, char *err, size_t errlen)
{
	if (w->ndevices > 0)
		qsort(w->devices, w->ndevices, sizeof(*w->devices), by_serial);
	w->nchannels = 0;
	for (size_t i = 0; i < w->ndevices; i++) {
		if (i > 0 && strcmp(w->devices[i - 1]->serial,
		    w->devices[i]->serial) == 0) {
			snprintf(err, errlen, "device serial %s is used twice",
			    w->devices[i]->serial);
			return -1;
		}
		w->nchannels += (size_t)w->devices[i]->nchannels;
	}
	for (size_t i = 0; i < w->naccounts; i++) {
		struct tw_account *a = w->accounts[i];

		if (a->ndevices > 0)
			qsort(a->devices, a->ndevices, sizeof(*a->devices),
			    by_serial);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(w->accounts[j]->email, a->email) == 0) {
				snprintf(err, errlen, "account %s is "
				    "configured twice", a->email);
				return -1;
			}
			if (strcmp(w->accounts[j]->uid, a->uid) == 0) {
				snprintf(err, errlen, "accounts %s and %s "
				    "have the same uid", w->accounts[j]->email,
				    a->email);
				return -1;
			}
		}
	}
	return 0;
}

void
scenario_free(struct tw_world *w)
{
	if (w == NULL)
		return;
	for (size_t i = 0; i < w->ndevices; i++) {
		pthread_mutex_destroy(&w->devices[i]->ext_mu);
		free(w->devices[i]);
	}
	for (size_t i = 0; i < w->naccounts; i++) {
		struct tw_account *a = w->accounts[i];

		free(a->email);
		free(a->password);
		free(a->api_key);
		free(a->uid);
		free(a->account_id);
		free(a->display_name);
		free(a->devices);
		free(a);
	}
	free(w->accounts);
	free(w->devices);
	free(w->api_key);
	fault_free(w->faults);
	free(w);
}

/* --- lookups (any thread; the world does not change shape) --------- */

struct tw_device *
scenario_find_device(const struct tw_world *w, const char *serial)
{
	size_t lo = 0, hi = w->ndevices;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(serial, w->devices[mid]->serial);

		if (c == 0)
			return w->devices[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

struct tw_account *
scenario_find_email(const struct tw_world *w, const char *email)
{
	for (size_t i = 0; i < w->naccounts; i++)
		if (strcasecmp(w->accounts[i]->email, email) == 0)
			return w->accounts[i];
	return NULL;
}

struct tw_account *
scenario_find_uid(const struct tw_world *w, const char *uid)
{
	for (size_t i = 0; i < w->naccounts; i++)
		if (strcmp(w->accounts[i]->uid, uid) == 0)
			return w->accounts[i];
	return NULL;
}

bool
scenario_key_ok(const struct tw_world *w, const char *key)
{
	bool ok = false;

	if (key == NULL || *key == '\0')
		return false;
	if (w->api_key[0] != '\0' && util_streq_ct(key, w->api_key))
		ok = true;
	for (size_t i = 0; i < w->naccounts; i++)
		if (w->accounts[i]->api_key != NULL &&
		    util_streq_ct(key, w->accounts[i]->api_key))
			ok = true;
	return ok;
}

