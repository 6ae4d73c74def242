/*
 * grilld's version, one for every daemon: in /health, the admin pages and
 * the status replies (MSG_STATUS_REP). Set GRILLD_VERSION at build time
 * to stamp another (make CPPFLAGS+=-DGRILLD_VERSION=\"0.2.0\").
 */
#ifndef GRILLD_VERSION_H
#define GRILLD_VERSION_H

#ifndef GRILLD_VERSION
#define GRILLD_VERSION "0.1.0"
#endif

#endif
