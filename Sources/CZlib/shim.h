/* zlib, for the shim's compression of rotated json-file logs (linked statically into it). */
#include <zlib.h>
