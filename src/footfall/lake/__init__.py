"""The lake: zones of files on a local disk or an object store, published all at once or not at all.

``layout`` (zones, run ids, the published-table model), ``base`` (what a run asks of any lake), ``local``
and ``journal`` (a folder: lock, consistent reads, journaled publish and recovery), ``store`` and ``s3``
(object stores), ``pointer`` and ``plan`` (an object lake's published state and its garbage), ``objects``
(a lake on an object store), ``open`` (one way to open any of them).
"""
