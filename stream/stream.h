/*
 * grilld-stream: private declarations, grouped by the file that defines them.
 */
#ifndef GRILLD_STREAM_H
#define GRILLD_STREAM_H

#endif
