/*
 * grilld-poller: private declarations, grouped by the file that defines them.
 */
#ifndef GRILLD_POLLER_H
#define GRILLD_POLLER_H

#endif
