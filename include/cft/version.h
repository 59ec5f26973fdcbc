#ifndef CFT_VERSION_H
#define CFT_VERSION_H
#define CFT_VERSION "0.1.0"
#endif
