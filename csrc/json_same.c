/* `_policy_engine_json.same(a, b)`: whether two values are the same JSON data, types included.
 *
 * True when both are built of exactly the JSON types (dict with text keys, list, tuple, str, int, float,
 * bool, None: the types themselves, not subclasses) in the same shape, with equal texts and numbers of the
 * same type (1, 1.0 and True differ; so do 0.0 and -0.0). No Python code of either value runs: `==`
 * would call a subclass's or a foreign object's `__eq__`, which may say anything, and let a request that
 * is not the run's first, nor even JSON data, be decided as that first request. False as soon as a value
 * is of another type or differs (the caller then reads the request alone, and its check says why). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>

static int same(PyObject *a, PyObject *b);

/* One object, of an immutable JSON type: the same data at once (the usual case for the texts of a
 * catalog's copies of one seller). A container is always compared item by item, and a float by value. */
static inline int same_scalar(PyObject *a, PyObject *b) {
    if (a != b) return 0;
    PyTypeObject *type = Py_TYPE(a);
    return type == &PyUnicode_Type || type == &PyLong_Type || a == Py_None || a == Py_True || a == Py_False;
    /* not a float: one NaN object is not the same number as itself, as `same(nan, nan)` says */
}

static int same_items(PyObject *const *a, PyObject *const *b, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        if (same_scalar(a[i], b[i])) continue;
        int r = same(a[i], b[i]);
        if (r != 1) return r;
    }
    return 1;
}

static inline int same_text(PyObject *a, PyObject *b) {  /* two exact texts, in canonical form */
    if (a == b) return 1;
#if PY_VERSION_HEX < 0x030C0000  /* before 3.12 a text made by an old C API may not be in that form yet */
    if (PyUnicode_READY(a) < 0 || PyUnicode_READY(b) < 0) return -1;
#endif
    Py_ssize_t n = PyUnicode_GET_LENGTH(a);
    return n == PyUnicode_GET_LENGTH(b) && PyUnicode_KIND(a) == PyUnicode_KIND(b) &&
           memcmp(PyUnicode_DATA(a), PyUnicode_DATA(b), (size_t)n * PyUnicode_KIND(a)) == 0;
}

static int same_dict_by_key(PyObject *a, PyObject *b) {
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(b, &pos, &key, &value)) {  /* b's keys texts too: a lookup then runs no Python */
        if (!PyUnicode_CheckExact(key)) return 0;
    }
    pos = 0;
    while (PyDict_Next(a, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key)) return 0;
        PyObject *other = PyDict_GetItemWithError(b, key);
        if (other == NULL) return PyErr_Occurred() ? -1 : 0;
        if (same_scalar(value, other)) continue;
        int r = same(value, other);  /* no Python code runs meanwhile: nothing can change a or b */
        if (r != 1) return r;
    }
    return 1;  /* as many keys, each of a's found in b with the same value: the same keys */
}

static int same_dict(PyObject *a, PyObject *b) {
    if (PyDict_GET_SIZE(a) != PyDict_GET_SIZE(b)) return 0;
    /* Copies of one object usually hold their keys in one order: walk both, pair by pair, and look keys up
     * only once a pair's keys differ. Equal keys at every position are the same keys. */
    Py_ssize_t pa = 0, pb = 0;
    PyObject *ka, *va, *kb, *vb;
    while (PyDict_Next(a, &pa, &ka, &va)) {
        if (!PyDict_Next(b, &pb, &kb, &vb)) return 0;
        if (!PyUnicode_CheckExact(ka)) return 0;
        if (ka != kb) {
            int t = PyUnicode_CheckExact(kb) ? same_text(ka, kb) : 0;
            if (t < 0) return -1;
            if (t == 0) return same_dict_by_key(a, b);
        }
        if (same_scalar(va, vb)) continue;
        int r = same(va, vb);
        if (r != 1) return r;
    }
    return 1;
}

static int same(PyObject *a, PyObject *b) {
    PyTypeObject *type = Py_TYPE(a);
    if (type != Py_TYPE(b)) return 0;
    if (a == Py_None || a == Py_True || a == Py_False) return a == b;
    if (type == &PyUnicode_Type) return same_text(a, b);
    if (type == &PyLong_Type) return PyObject_RichCompareBool(a, b, Py_EQ);  /* exact ints: no Python runs */
    if (type == &PyFloat_Type) {
        double x = PyFloat_AS_DOUBLE(a), y = PyFloat_AS_DOUBLE(b);
        return x == y && signbit(x) == signbit(y);
    }
    if (type != &PyDict_Type && type != &PyList_Type && type != &PyTuple_Type) return 0;
    if (Py_EnterRecursiveCall(" comparing JSON data")) return -1;
    int r;
    if (type == &PyDict_Type) {
        r = same_dict(a, b);
    } else if (type == &PyList_Type) {
        r = PyList_GET_SIZE(a) == PyList_GET_SIZE(b)
            ? same_items(((PyListObject *)a)->ob_item, ((PyListObject *)b)->ob_item, PyList_GET_SIZE(a))
            : 0;
    } else {
        r = PyTuple_GET_SIZE(a) == PyTuple_GET_SIZE(b)
            ? same_items(((PyTupleObject *)a)->ob_item, ((PyTupleObject *)b)->ob_item, PyTuple_GET_SIZE(a))
            : 0;
    }
    Py_LeaveRecursiveCall();
    return r;
}

static PyObject *same_json(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "same() takes two values");
        return NULL;
    }
    int r = same(args[0], args[1]);
    if (r < 0) return NULL;
    return PyBool_FromLong(r);
}

static PyMethodDef methods[] = {
    {"same", (PyCFunction)(void (*)(void))same_json, METH_FASTCALL,
     "same(a, b): whether a and b are the same JSON data, types included, without running Python code."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_policy_engine_json", "Exact comparison of JSON data.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__policy_engine_json(void) { return PyModule_Create(&module); }
