/*
 * tls: HTTPS on api.listen when api.tls_cert and api.tls_key are set,
 * through civetweb's OpenSSL support.
 *
 * The certificate and key are loaded here, from civetweb's init_ssl
 * callback, rather than by civetweb (which wants both in one file), so
 * that the key can stay in a file of its own, private to its owner.
 * TLS 1.2 is the oldest version offered.
 *
 * civetweb 1.15 (Debian 12) loads libssl at run time, by the name
 * "libssl.so", and looks its functions up by name. One of them,
 * SSL_get_peer_certificate, is only a macro in OpenSSL 3, and civetweb
 * then calls a NULL pointer on the first HTTPS connection (civetweb
 * issue #1334). So the Makefile links grilld-api with the soname
 * "libssl.so": civetweb's dlopen() then finds this program, whose own
 * dependencies include libssl.so.3, and its dlsym() finds the function
 * below. libcrypto.so (libssl-dev) must still be there to be opened.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"
#include "log.h"

#undef SSL_get_peer_certificate
X509	*SSL_get_peer_certificate(const SSL *);

/* What OpenSSL 1.1 exported under this name: a new reference. */
X509 *
SSL_get_peer_certificate(const SSL *s)
{
	return SSL_get1_peer_certificate(s);
}

bool
api_tls_on(const struct grilld_conf *cf)
{
	return cf->api.tls_cert != NULL && cf->api.tls_cert[0] != '\0';
}

/* For -n and start-up: both files or neither, readable, key private. */
int
api_tls_check(const struct grilld_conf *cf, char *err, size_t len)
{
	const char *cert = cf->api.tls_cert, *key = cf->api.tls_key;
	struct stat st;

	if ((cert == NULL || *cert == '\0') && (key == NULL || *key == '\0'))
		return 0;
	if (cert == NULL || *cert == '\0' || key == NULL || *key == '\0') {
		snprintf(err, len, "api.tls_cert and api.tls_key go together: "
		    "set both for HTTPS, or neither\n");
		return -1;
	}
	if (stat(cert, &st) == -1) {
		snprintf(err, len, "api.tls_cert: %s: %s\n", cert,
		    strerror(errno));
		return -1;
	}
	if (stat(key, &st) == -1) {
		snprintf(err, len, "api.tls_key: %s: %s\n", key,
		    strerror(errno));
		return -1;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, len, "api.tls_key: %s is readable by others "
		    "(mode %03o); chmod 600 it\n", key,
		    (unsigned)(st.st_mode & 0777));
		return -1;
	}
	return 0;
}

/* api.listen with every port marked for TLS ("127.0.0.1:8443s"). */
int
api_tls_ports(const char *listen, char *out, size_t len)
{
	struct buf b;
	int rc = -1;

	buf_init(&b);
	for (const char *p = listen; *p != '\0';) {
		size_t n = strcspn(p, ",");

		buf_printf(&b, "%s%.*ss", b.len ? "," : "", (int)n, p);
		p += n;
		if (*p == ',')
			p++;
	}
	if (b.data != NULL && b.len < len) {
		util_strlcpy(out, b.data, len);
		rc = 0;
	}
	buf_free(&b);
	return rc;
}

/* civetweb's init_ssl: 1 when the context is ready, -1 to refuse. */
int
api_tls_init(void *ssl_ctx, void *arg)
{
	const struct api *a = arg;
	SSL_CTX *ctx = ssl_ctx;
	char why[256];

	if (SSL_CTX_use_certificate_chain_file(ctx, a->cf->api.tls_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, a->cf->api.tls_key,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1 ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		ERR_error_string_n(ERR_get_error(), why, sizeof(why));
		log_warnx("api.tls_cert %s, api.tls_key %s: %s",
		    a->cf->api.tls_cert, a->cf->api.tls_key, why);
		return -1;
	}
	return 1;
}
