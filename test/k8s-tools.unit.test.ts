import { goModDirectives } from '../tools/go-build';
import { localRefs } from '../tools/kube-schemas';

describe('the Kubernetes schemas made local (tools/kube-schemas.ts)', () => {
  test('a schema loses its kubernetes.io $id and points at _definitions.json beside it; local refs stay', () => {
    const schema = {
      $id: 'https://kubernetes.io/api/deployment/apps/v1',
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      properties: {
        metadata: { $ref: '/api/_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' },
        spec: { items: { $ref: '#/$defs/local' } },
      },
    };
    expect(JSON.parse(localRefs(JSON.stringify(schema, null, 2)))).toEqual({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      properties: {
        metadata: { $ref: '_definitions.json#/$defs/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta' },
        spec: { items: { $ref: '#/$defs/local' } },
      },
    });
  });
});

describe('go.mod directives a tool build repeats (tools/go-build.ts)', () => {
  test('the go line, godebug and replace directives, single-line and in blocks, comments dropped', () => {
    const goMod = [
      'module example.com/tool',
      '',
      'go 1.26.0',
      'toolchain go1.26.8',
      'godebug x509negativeserial=1',
      'require (',
      '\texample.com/a v1.0.0 // indirect',
      ')',
      'replace example.com/b => example.com/b v1.2.3 // pinned fork',
      'replace (',
      '\texample.com/c => example.com/c-fork v0.1.0',
      ')',
    ].join('\n');
    expect(goModDirectives(goMod)).toEqual({
      go: '1.26.0',
      godebug: ['x509negativeserial=1'],
      replace: ['example.com/b => example.com/b v1.2.3', 'example.com/c => example.com/c-fork v0.1.0'],
    });
  });
});
